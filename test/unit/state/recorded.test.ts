import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError, ExitCode } from '../../../src/exit-codes.ts';
import { type DumpPhase, type DumpState, saveDumpState } from '../../../src/state/dump-state.ts';
import { readRecorded } from '../../../src/state/recorded.ts';
import type { Phase, UpgradeState } from '../../../src/state/state.ts';
import { saveState } from '../../../src/state/store.ts';
import { objectStore } from '../doubles/object-store.ts';
import { jobSpec } from '../doubles/job-spec.ts';

const test = suite("a workload's records, read in one place: sealed, bound to it, one precedence");

const IN_PLACE = 'pgupgrade-state-db';
const DUMP = 'pgupgrade-dump-db';
const found = {
  namespace: 'ns',
  workload: { kind: 'StatefulSet', metadata: { name: 'db', uid: 'uid-db' } },
  pvc: { metadata: { name: 'data-db-0' } },
};
const inPlace = (phase: Phase, over: Partial<UpgradeState> = {}): UpgradeState => ({
  version: 1,
  workload: { kind: 'StatefulSet', name: 'db', replicas: 1 },
  workloadUid: 'uid-db',
  pvc: 'data-db-0',
  container: 'postgresql',
  from: 13,
  fromVersion: '13.22',
  to: 15,
  method: 'link',
  oldImage: 'bitnami/postgresql:13',
  targetImage: 'bitnami/postgresql:15',
  jobImage: jobSpec.image,
  apps: [],
  snapshot: 'snap',
  fingerprintConfigMap: 'pgupgrade-fingerprint-db',
  job: jobSpec.name,
  jobSpec,
  phase,
  history: [{ phase, at: '2026-11-30T00:00:00.000Z' }],
  ...over,
});
const byDump = (phase: DumpPhase, over: Partial<DumpState> = {}): DumpState => ({
  version: 1,
  method: 'dump',
  workload: { kind: 'StatefulSet', name: 'db', replicas: 1 },
  workloadUid: 'uid-db',
  pvc: 'data-db-0',
  container: 'postgresql',
  from: 13,
  fromVersion: '13.22',
  to: 16,
  target: {
    kind: 'StatefulSet',
    name: 'db-v16',
    pvc: 'data-db-v16-0',
    service: 'db-v16',
    image: 'postgres:16',
    superuser: 'postgres',
    container: 'postgresql',
    md5Logins: false,
  },
  services: [],
  apps: [],
  settings: [],
  jobs: 1,
  cutover: true,
  phase,
  history: [{ phase, at: '2026-11-30T00:00:00.000Z' }],
  ...over,
});

/** A store with the records given, each sealed as the plugin writes it (saveRecord). */
async function recorded(records: { inPlace?: UpgradeState; dump?: DumpState }) {
  const c = objectStore();
  if (records.inPlace) await saveState(c, 'ns', IN_PLACE, records.inPlace, undefined);
  if (records.dump) await saveDumpState(c, 'ns', DUMP, records.dump, undefined);
  return c;
}
const refused = async (p: Promise<unknown>): Promise<CliError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, CliError, 'refused');
  assert.is((err as CliError).exitCode, ExitCode.usage);
  return err as CliError;
};

test('none: both names, no record, nothing active', async () => {
  const r = await readRecorded(await recorded({}), found);
  assert.equal(r.names, { inPlace: IN_PLACE, dump: DUMP });
  assert.is(r.inPlace, undefined);
  assert.is(r.dump, undefined);
  assert.is(r.active, undefined);
});

test('in place only, or by dump only: that record, active whatever its phase', async () => {
  for (const phase of ['job', 'done'] as const) {
    const r = await readRecorded(await recorded({ inPlace: inPlace(phase) }), found);
    assert.equal(r.inPlace?.state, inPlace(phase));
    assert.is(r.inPlace?.name, IN_PLACE);
    assert.ok(r.inPlace?.cm.metadata.resourceVersion, 'the version to write over');
    assert.is(r.dump, undefined);
    assert.is(r.active, r.inPlace);
  }
  for (const phase of ['loaded', 'done', 'rolled-back'] as const) {
    const r = await readRecorded(await recorded({ dump: byDump(phase) }), found);
    assert.equal(r.dump?.state, byDump(phase));
    assert.is(r.dump?.method, 'dump');
    assert.is(r.inPlace, undefined);
    assert.is(r.active, r.dump);
  }
});

test('both: an unfinished record wins over a finished one, by either method', async () => {
  const cases: Array<[UpgradeState, DumpState, 'in-place' | 'dump']> = [
    [inPlace('job'), byDump('done'), 'in-place'],
    [inPlace('job'), byDump('rolled-back'), 'in-place'],
    [inPlace('done'), byDump('loaded'), 'dump'],
  ];
  for (const [i, d, method] of cases) {
    const r = await readRecorded(await recorded({ inPlace: i, dump: d }), found);
    assert.is(r.active?.method, method, `${i.phase} in place, ${d.phase} by dump`);
    assert.ok(r.inPlace && r.dump, 'both are returned');
  }
});

test('both unfinished: the dump record wins', async () => {
  const r = await readRecorded(await recorded({ inPlace: inPlace('job'), dump: byDump('cutover') }), found);
  assert.is(r.active?.method, 'dump');
});

test('both finished: the done dump record, else the in-place one (a rolled-back dump comes after it)', async () => {
  const done = await readRecorded(await recorded({ inPlace: inPlace('done'), dump: byDump('done') }), found);
  assert.is(done.active?.method, 'dump');
  const back = await readRecorded(await recorded({ inPlace: inPlace('done'), dump: byDump('rolled-back') }), found);
  assert.is(back.active?.method, 'in-place');
});

test('a record of another workload UID, or of another PVC, is refused (exit 2) naming the ConfigMap, whichever it is', async () => {
  const otherUid = await refused(
    readRecorded(await recorded({ inPlace: inPlace('job', { workloadUid: 'uid-old' }) }), found),
  );
  assert.match(otherUid.message, `ConfigMap ns/${IN_PLACE}, the record of an upgrade, cannot be used`);
  assert.match(otherUid.message, '(UID uid-old, PVC data-db-0), not of the StatefulSet db found now (UID uid-db');
  const otherPvc = await refused(
    readRecorded(await recorded({ dump: byDump('done', { pvc: 'data-other-0' }) }), found),
  );
  assert.match(otherPvc.message, `ConfigMap ns/${DUMP}, the record of an upgrade, cannot be used`);
  assert.match(otherPvc.message, 'PVC data-other-0), not of the StatefulSet db found now (UID uid-db, PVC data-db-0)');
  // The one bound to another workload is refused even when the other record would be the active one.
  await refused(
    readRecorded(
      await recorded({ inPlace: inPlace('done', { workloadUid: 'uid-old' }), dump: byDump('loaded') }),
      found,
    ),
  );
  // A source without a volume records none: NO_VOLUME, bound as such.
  const noVolume = { namespace: 'ns', workload: found.workload };
  const r = await readRecorded(await recorded({ dump: byDump('done', { pvc: '' }) }), noVolume);
  assert.is(r.active?.method, 'dump');
});

test('a record whose seal does not hold (its data changed by hand) is refused before anything in it is used', async () => {
  for (const name of [IN_PLACE, DUMP]) {
    const c = await recorded({ inPlace: inPlace('done'), dump: byDump('done') });
    const cm = c.objects.get(`ConfigMap/ns/${name}`);
    const data = JSON.parse(cm?.data?.['state.json'] ?? '{}');
    await c.patchObject(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name },
      { data: { 'state.json': JSON.stringify({ ...data, pvc: 'data-production-0' }) } },
      'merge',
    );
    const err = await refused(readRecorded(c, found));
    assert.match(
      err.message,
      `ConfigMap ns/${name}, the record of an upgrade, cannot be used: its seal does not match its data`,
    );
  }
});

test.run();
