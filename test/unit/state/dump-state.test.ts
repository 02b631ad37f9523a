import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../../src/exit-codes.ts';
import { dumpStateProblem, parseDumpState } from '../../../src/state/parse-dump-state.ts';
import {
  advanceDump,
  dumpStateConfigMap,
  dumpStateName,
  inPlaceOverDumpProblem,
  isDumpDone,
  leftChanged,
  type DumpState,
} from '../../../src/state/dump-state.ts';

const test = suite('the record of an upgrade by dump: its own ConfigMap, phases, and refusals');

const state: DumpState = {
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
    container: 'postgres',
    md5Logins: true,
  },
  services: [
    { name: 'postgres', before: { selector: { 'k8s-app': 'postgres' }, ports: [{ port: 5432, targetPort: 5432 }] } },
  ],
  apps: [{ kind: 'Deployment', name: 'postgres-app', replicas: 1 }],
  settings: [{ name: 'fsync', value: 'off', restart: false }],
  jobs: 2,
  cutover: true,
  phase: 'preflight',
  history: [],
};

test("its ConfigMap is not the in-place record's, and stays a valid name for a long workload", () => {
  assert.is(dumpStateName('postgres'), 'pgupgrade-dump-postgres');
  const long = dumpStateName('x'.repeat(60));
  assert.ok(long.length <= 63, long);
  assert.not.equal(long, dumpStateName(`${'x'.repeat(59)}y`));
});

test('phases advance in order; rolled-back is past them all', () => {
  const s = advanceDump(advanceDump(state, 'target-created'), 'loaded', new Date('2026-12-01T00:00:00Z'));
  assert.ok(isDumpDone(s, 'load-started'));
  assert.not.ok(isDumpDone(s, 'verified'));
  assert.equal(s.history.at(-1), { phase: 'loaded', at: '2026-12-01T00:00:00.000Z' });
  assert.ok(isDumpDone({ ...s, phase: 'rolled-back' }, 'done'));
  assert.not.ok(isDumpDone(undefined, 'preflight'));
});

test('the source is made read-only once the applications are down, before the load starts', () => {
  const s = advanceDump(state, 'source-read-only');
  assert.ok(isDumpDone(s, 'apps-down') && !isDumpDone(s, 'load-started'));
  assert.ok(isDumpDone(advanceDump(state, 'load-started'), 'source-read-only'));
});

test('what a stopped run leaves changed: the target tuned until its settings are back, the source read-only until the cutover', () => {
  const at = (phase: DumpState['phase'], more: Partial<DumpState> = {}) => leftChanged({ ...state, ...more, phase });
  assert.equal(at('target-ready'), { tuned: false, readOnly: false });
  assert.equal(
    at('target-ready', { targetBefore: [] }),
    { tuned: true, readOnly: false },
    'its own values recorded: the tuning may have begun',
  );
  assert.equal(at('load-started', { targetBefore: [], sourceBefore: [] }), { tuned: true, readOnly: true });
  assert.equal(at('settings-back', { targetBefore: [], sourceBefore: [] }), { tuned: false, readOnly: true });
  assert.equal(at('cutover', { targetBefore: [], sourceBefore: [] }), { tuned: false, readOnly: false });
  assert.equal(
    at('loaded'),
    { tuned: true, readOnly: false },
    'a record of an earlier version: tuned, the source never made read-only',
  );
  assert.equal(at('rolled-back', { targetBefore: [], sourceBefore: [] }), { tuned: false, readOnly: false });
});

test('a record round-trips through its ConfigMap; a broken one is refused with exit 2', () => {
  assert.equal(parseDumpState(dumpStateConfigMap('pgupgrade-dump-postgres', 'ns', state)), state);
  assert.is(parseDumpState(undefined), undefined);
  assert.match(dumpStateProblem({ ...state, phase: 'job' }) ?? '', /phase "job" is none of/);
  assert.match(dumpStateProblem({ ...state, method: 'link' }) ?? '', /not a version 1 record of an upgrade by dump/);
  assert.match(dumpStateProblem({ ...state, target: undefined }) ?? '', /names no target/);
  assert.match(
    dumpStateProblem({ ...state, targetBefore: [{ name: 'fsync', value: 1 }] }) ?? '',
    /settings before the upgrade are not a list/,
  );
  assert.match(dumpStateProblem({ ...state, sourceBefore: 'on' }) ?? '', /settings before the upgrade are not a list/);
  // A source without a volume records NO_VOLUME (''): taken; no pvc at all is not.
  assert.is(dumpStateProblem({ ...state, pvc: '' }), undefined);
  assert.match(dumpStateProblem({ ...state, pvc: undefined }) ?? '', /does not say where the source keeps its data/);
  assert.is(
    dumpStateProblem({ ...state, target: { ...state.target, secret: 'postgres-v14-superuser', size: '2Gi' } }),
    undefined,
  );
  assert.match(
    dumpStateProblem({ ...state, target: { ...state.target, secret: 7 } }) ?? '',
    /target Secret is not a name/,
  );
  // An existing target (--target) is marked; a record without the mark (the plugin's own instance, or older) still parses.
  assert.is(dumpStateProblem({ ...state, target: { ...state.target, existing: true } }), undefined);
  assert.is(dumpStateProblem({ ...state, target: { ...state.target, existing: undefined } }), undefined);
  assert.match(
    dumpStateProblem({ ...state, target: { ...state.target, existing: 'yes' } }) ?? '',
    /"existing" is not true or false/,
  );
  // --pause-gitops: what the record says to put back is checked before anything is patched from it.
  assert.is(
    dumpStateProblem({
      ...state,
      phase: 'gitops-paused',
      pausedOwners: [
        { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: 'db', name: 'apps' },
      ],
    }),
    undefined,
  );
  assert.match(
    dumpStateProblem({ ...state, pausedOwners: [{ apiVersion: 'v1', kind: 'Secret', namespace: 'db', name: 'x' }] }) ??
      '',
    /pausedOwners are not a list/,
  );
  const broken = { ...dumpStateConfigMap('c', 'ns', state), data: { 'state.json': '{' } };
  try {
    parseDumpState(broken);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, CliError);
    assert.is((err as CliError).exitCode, 2);
    assert.match(
      (err as Error).message,
      /ConfigMap ns\/c, the record of an upgrade, cannot be used: its state.json is not valid JSON/,
    );
  }
});

test('an upgrade in place of the old instance that a done dump keeps as its way back is refused, naming the record and the ways out, unless --discard-dump-rollback', () => {
  const done = { ...state, phase: 'done' as const };
  const refused = inPlaceOverDumpProblem(done, 'uid-1', 'ns', 'pgupgrade-dump-postgres', false) ?? '';
  assert.match(
    refused,
    'Deployment ns/postgres is the old instance that the upgrade by dump to 14 keeps as its way back (ConfigMap ns/pgupgrade-dump-postgres, done',
  );
  assert.match(refused, 'kubectl pgupgrade upgrade -n ns deploy/postgres --rollback');
  assert.match(refused, 'kubectl pgupgrade cleanup -n ns deploy/postgres --delete-old-instance');
  assert.match(refused, 'pass --discard-dump-rollback. Nothing was changed');
  assert.is(
    inPlaceOverDumpProblem(done, 'uid-1', 'ns', 'pgupgrade-dump-postgres', true),
    undefined,
    '--discard-dump-rollback',
  );
  assert.is(
    inPlaceOverDumpProblem({ ...done, phase: 'rolled-back' }, 'uid-1', 'ns', 'x', false),
    undefined,
    'after its rollback the old instance serves again',
  );
  assert.is(
    inPlaceOverDumpProblem({ ...done, cutover: false }, 'uid-1', 'ns', 'x', false),
    undefined,
    '--no-cutover: the old instance still serves',
  );
  assert.is(inPlaceOverDumpProblem(done, 'uid-other', 'ns', 'x', false), undefined, 'another workload of that name');
  assert.is(inPlaceOverDumpProblem(undefined, 'uid-1', 'ns', 'x', false), undefined);
  assert.match(
    inPlaceOverDumpProblem({ ...state, phase: 'loaded' }, 'uid-1', 'ns', 'x', true) ?? '',
    'stopped after "loaded": resume it (--method dump) or undo it (--rollback) first',
  );
});

test.run();
