import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { advanceDump, type DumpState } from '../../../src/state/dump-state.ts';
import type { UpgradeState } from '../../../src/state/state.ts';
import { dumpView, inPlaceView } from '../../../src/state/validated-upgrade.ts';
import { failedJobs, judgeFinished } from '../../../src/validation/checks.ts';

const test = suite("what validate reads of an upgrade's record, in place or by dump");

const dump: DumpState = {
  version: 1,
  method: 'dump',
  workload: { kind: 'Deployment', name: 'postgres', replicas: 1 },
  workloadUid: 'uid-1',
  pvc: 'pgdata',
  container: 'postgres',
  from: 12,
  fromVersion: '12.22',
  to: 14,
  target: {
    kind: 'Deployment',
    name: 'postgres-v14',
    pvc: 'data-postgres-v14',
    service: 'postgres-v14',
    image: 'postgres:14',
    superuser: 'admin',
    container: 'pg',
    md5Logins: true,
  },
  services: [],
  apps: [{ kind: 'Deployment', name: 'app', replicas: 2 }],
  settings: [],
  jobs: 2,
  cutover: true,
  phase: 'preflight',
  history: [],
};
const at = (iso: string) => new Date(iso);

test("by dump: the counters began when the (last) load ended, the reference is the source's, the new instance and its superuser are named", () => {
  let s = advanceDump(dump, 'load-started', at('2026-12-01T10:00:00Z'));
  s = advanceDump(s, 'loaded', at('2026-12-01T10:01:00Z'));
  s = advanceDump(s, 'loaded', at('2026-12-01T10:05:00Z'));
  s = advanceDump(s, 'done', at('2026-12-01T10:06:00Z'));
  const v = dumpView(s, 'pgupgrade-dump-postgres-fingerprint');
  assert.is(v.countersSince, '2026-12-01T10:05:00.000Z');
  assert.equal(
    [v.method, v.reference, v.fingerprintConfigMap, v.snapshot, v.finished],
    ['dump', 'dump', 'pgupgrade-dump-postgres-fingerprint', null, true],
  );
  assert.equal(v.target, { kind: 'Deployment', name: 'postgres-v14', container: 'pg', superuser: 'admin' });
  assert.equal(
    failedJobs(
      [
        {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'x', labels: { 'pgupgrade.kubectl.io/role': 'upgrade-job' } },
          status: { failed: 1 },
        },
      ],
      v,
    ),
    [],
    "a dump runs no Job: another upgrade's failed Job is not this one's",
  );
  assert.match(
    judgeFinished(v, [], 'ns').found,
    'the upgrade from 12.22 to 14 (--dump) is recorded done at 2026-12-01T10:06:00.000Z',
  );
  const half = judgeFinished(dumpView(advanceDump(dump, 'loaded'), 'f'), [], 'ns');
  assert.is(half.status, 'fail');
  assert.match(half.fix ?? '', 'kubectl pgupgrade upgrade -n ns deploy/postgres --to 14 --method dump');
});

test("in place: the counters began when the new server first started; the reference is the upgrade's own", () => {
  const s = {
    workload: { kind: 'StatefulSet', name: 'pg', replicas: 1 },
    from: 13,
    fromVersion: '13.22',
    to: 15,
    method: 'copy',
    job: 'pgupgrade-pg-to-15',
    snapshot: 'snap',
    fingerprintConfigMap: 'fp',
    apps: [],
    phase: 'verified',
    history: [
      { phase: 'db-start', at: '2026-01-01T00:00:00.000Z' },
      { phase: 'db-start', at: '2026-01-01T00:09:00.000Z' },
      { phase: 'verified', at: '2026-01-01T00:10:00.000Z' },
    ],
  } as unknown as UpgradeState;
  const v = inPlaceView(s);
  assert.equal(
    [v.countersSince, v.reference, v.finished, v.lastAt, v.target],
    ['2026-01-01T00:00:00.000Z', 'in-place', false, '2026-01-01T00:10:00.000Z', undefined],
  );
});

test.run();
