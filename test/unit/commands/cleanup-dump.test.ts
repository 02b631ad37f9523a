import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster, KObject, Pod, Workload } from '../../../src/k8s/cluster.ts';
import { dumpStateConfigMap, type DumpState } from '../../../src/state/dump-state.ts';
import { VALIDATED_AT } from '../../../src/state/validated.ts';
import {
  ageProblem,
  overrideOrRefuse,
  unfinishedProblem,
  unvalidatedProblem,
} from '../../../src/commands/cleanup/guards.ts';
import {
  deleteByHand,
  neverDeleted,
  oldInstanceProblem,
  planDumpCleanup,
  type DumpFound,
} from '../../../src/commands/cleanup/dump-plan.ts';
import { planDump } from '../../../src/commands/cleanup/dump-tasks.ts';
import { planText } from '../../../src/commands/cleanup/plan.ts';
import { mountedPvcProblem, podsMounting } from '../../../src/commands/cleanup/pvc-users.ts';
import { removeKinds } from '../../../src/commands/cleanup/remove.ts';
import type { CleanupCtx } from '../../../src/commands/cleanup/tasks.ts';
import { CliError } from '../../../src/exit-codes.ts';

const test = suite('cleanup after an upgrade by dump: the old instance only when named and stopped, the record last');

const DONE_AT = '2026-11-30T10:00:00.000Z';
const state: DumpState = {
  version: 1,
  method: 'dump',
  workload: { kind: 'Deployment', name: 'postgres', replicas: 1 },
  workloadUid: 'uid-pg',
  pvc: 'postgres-data',
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
  services: [],
  apps: [],
  settings: [],
  jobs: 1,
  cutover: true,
  phase: 'done',
  history: [
    { phase: 'loaded', at: '2026-11-30T09:58:00.000Z' },
    { phase: 'done', at: DONE_AT },
  ],
};
const STATE = 'pgupgrade-dump-postgres';
const OWN = { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade' };
const cm = (name: string, role: string, annotations?: Record<string, string>): KObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', labels: { ...OWN, 'pgupgrade.kubectl.io/role': role }, annotations },
});
const workload = (
  replicas: number,
  uid = 'uid-pg',
  name = 'postgres',
  labels?: Record<string, string>,
  annotations?: Record<string, string>,
): Workload => ({
  kind: 'Deployment',
  metadata: { name, uid, resourceVersion: '7', labels, annotations },
  replicas,
  selector: { app: name },
  template: { spec: { containers: [] } },
  volumeClaimTemplates: [],
});

function found(): DumpFound {
  return {
    configMaps: [
      dumpStateConfigMap(STATE, 'ns', state),
      cm(`${STATE}-fingerprint`, 'dump-reference'),
      // Look-alikes: the plugin's labels with names like ours, and the exact name with another role.
      cm(`${STATE}-copy`, 'upgrade-state', { 'pgupgrade.kubectl.io/method': 'dump' }),
      cm(`${STATE}-fingerprint-old`, 'dump-reference'),
      cm('pgupgrade-dump-postgres2', 'upgrade-state', { 'pgupgrade.kubectl.io/method': 'dump' }),
    ],
    source: { workload: workload(0), pvc: 'postgres-data', pods: [], pvcUsers: [] },
  };
}
const names = (items: Array<{ kind: string; name: string }>) => items.map((i) => `${i.kind} ${i.name}`);
const r = { state, stateName: STATE };

test('named, the stopped old instance goes with its PVC, then the fingerprint, then the record; look-alikes stay', () => {
  const p = planDumpCleanup(r, found(), { namespace: 'ns', deleteOldInstance: true });
  assert.equal(names(p.remove), [
    'Deployment postgres',
    'PersistentVolumeClaim postgres-data',
    `ConfigMap ${STATE}-fingerprint`,
    `ConfigMap ${STATE}`,
  ]);
  assert.equal(p.keep, []);
  assert.match(
    p.remove[0]?.why ?? '',
    'made by you (not by kubectl pgupgrade): named by the record of the upgrade, UID uid-pg',
  );
  assert.match(
    planText(p, 'Would remove'),
    /ConfigMap pgupgrade-dump-postgres\s+the record of the upgrade by dump, last$/,
  );
});

test('not named, the old instance is kept with the command that removes it, and the record and fingerprint with it', () => {
  const { plan, offer } = planDump({ state, found: found() }, STATE, 'ns', false);
  assert.equal(plan.remove, []);
  assert.equal(names(plan.keep), [
    'Deployment postgres',
    'PersistentVolumeClaim postgres-data',
    `ConfigMap ${STATE}-fingerprint`,
    `ConfigMap ${STATE}`,
  ]);
  assert.match(plan.keep[0]?.why ?? '', 'kubectl pgupgrade cleanup -n ns deploy/postgres --delete-old-instance');
  assert.is(offer, 'deploy/postgres', 'the prompt offers it by name');
});

test('an old instance that runs, has pods, another UID or PVC, or a mounted PVC is never deleted: kept, and refused when named', () => {
  const cases: Array<[Partial<DumpFound['source']>, RegExp]> = [
    [{ workload: workload(1) }, /scaled to 1, not 0/],
    [{ pods: ['postgres-abc'] }, /it has pods \(postgres-abc\)/],
    [{ workload: workload(0, 'uid-other') }, /UID uid-other is not the recorded uid-pg/],
    [{ pvc: 'other-data' }, /its PVC is other-data, not the recorded postgres-data/],
    [{ pvcUsers: ['debug-pod'] }, /mounted by pods debug-pod/],
  ];
  for (const [change, why] of cases) {
    const f = found();
    f.source = { ...f.source, ...change };
    assert.match(oldInstanceProblem(state, f.source) ?? '', why);
    const { plan, offer } = planDump({ state, found: f }, STATE, 'ns', false);
    assert.equal(plan.remove, [], why.source);
    assert.is(offer, undefined);
    assert.match(plan.keep[0]?.why ?? '', why);
    assert.throws(
      () => planDump({ state, found: f }, STATE, 'ns', true),
      (e: Error) => why.test(e.message) && /Nothing was changed/.test(e.message),
    );
  }
});

test('a source without a volume, or after --no-cutover: never deleted (said so, with the commands); the record and fingerprint go', () => {
  for (const s of [
    { ...state, pvc: '' },
    { ...state, cutover: false },
  ]) {
    const f = found();
    f.source = { ...f.source, pvc: s.pvc };
    const p = planDumpCleanup({ state: s, stateName: STATE }, f, { namespace: 'ns', deleteOldInstance: false });
    assert.equal(names(p.remove), [`ConfigMap ${STATE}-fingerprint`, `ConfigMap ${STATE}`]);
    assert.equal(names(p.keep), ['Deployment postgres']);
    assert.match(
      p.keep[0]?.why ?? '',
      `cleanup never deletes it. Delete it yourself when you no longer need it: ${deleteByHand(s, 'ns')}`,
    );
    assert.throws(
      () => planDump({ state: s, found: f }, STATE, 'ns', true),
      /--delete-old-instance: Deployment ns\/postgres is not deleted/,
    );
  }
  assert.match(neverDeleted({ ...state, pvc: '' }) ?? '', 'left running after the cutover by design');
  assert.match(neverDeleted({ ...state, cutover: false }) ?? '', 'still serves the applications');
  assert.is(deleteByHand({ ...state, pvc: '' }, 'ns'), 'kubectl -n ns delete deployment postgres');
});

test('after a rollback: the stopped new instance, which the plugin made, goes (by its labels, its source and the recorded names)', () => {
  const rolled: DumpState = {
    ...state,
    phase: 'rolled-back',
    target: { ...state.target, secret: 'postgres-v14-superuser' },
    history: [...state.history, { phase: 'rolled-back', at: '2026-11-30T11:00:00.000Z' }],
  };
  const labels = { ...OWN, 'pgupgrade.kubectl.io/role': 'dump-target' };
  const annotations = { 'pgupgrade.kubectl.io/source': 'Deployment/postgres' };
  const obj = (kind: string, name: string, a = annotations): KObject => ({
    apiVersion: 'v1',
    kind,
    metadata: { name, labels, annotations: a },
  });
  const f: DumpFound = {
    ...found(),
    target: {
      workload: workload(0, 'uid-new', 'postgres-v14', labels, annotations),
      pods: [],
      pvc: obj('PersistentVolumeClaim', 'data-postgres-v14'),
      service: obj('Service', 'postgres-v14'),
      secret: obj('Secret', 'postgres-v14-superuser', { 'pgupgrade.kubectl.io/source': 'Deployment/other' }),
    },
  };
  const p = planDumpCleanup({ state: rolled, stateName: STATE }, f, { namespace: 'ns', deleteOldInstance: false });
  assert.equal(
    names(p.remove),
    [
      'Deployment postgres-v14',
      'Service postgres-v14',
      'PersistentVolumeClaim data-postgres-v14',
      `ConfigMap ${STATE}-fingerprint`,
      `ConfigMap ${STATE}`,
    ],
    'the Secret of another source stays',
  );
  assert.match(p.remove[2]?.why ?? '', 'between the cutover and the rollback');
  const running = {
    ...f,
    target: {
      ...f.target,
      workload: workload(1, 'uid-new', 'postgres-v14', labels, annotations),
      pods: ['postgres-v14-x'],
    },
  } as DumpFound;
  const kept = planDumpCleanup({ state: rolled, stateName: STATE }, running, {
    namespace: 'ns',
    deleteOldInstance: false,
  });
  assert.equal(kept.remove, []);
  assert.match(kept.keep[0]?.why ?? '', 'it runs (scaled to 1, pods postgres-v14-x)');
  // An existing --target (pg14, its own labels) is never removed, even were it labelled as ours: only the plugin's ConfigMaps go.
  const existing: DumpState = {
    ...rolled,
    target: { ...rolled.target, name: 'pg14', pvc: 'pgdata-pg14', service: '', secret: undefined, existing: true },
  };
  const theirs = planDumpCleanup(
    { state: existing, stateName: STATE },
    { ...f, target: { ...f.target, workload: workload(0, 'uid-pg14', 'pg14', labels, annotations) } } as DumpFound,
    { namespace: 'ns', deleteOldInstance: false },
  );
  assert.equal(names(theirs.remove), [`ConfigMap ${STATE}-fingerprint`, `ConfigMap ${STATE}`]);
  assert.match(
    theirs.keep[0]?.why ?? '',
    'the existing instance named by --target, which kubectl pgupgrade did not make',
  );
  assert.is(unfinishedProblem(rolled, 'ns'), undefined);
  assert.is(
    unvalidatedProblem(undefined, rolled, 'ns'),
    undefined,
    'after a rollback there is nothing for validate to prove',
  );
  assert.match(
    ageProblem(rolled, new Date('2026-11-30T12:00:00.000Z'), 86_400_000, '24h') ?? '',
    /rolled back 1h ago .* run cleanup again after 2026-12-01T11:00:00.000Z/,
  );
});

test('guards of the dump record: unfinished refused, age and validate from its own history and annotation; --force says what it overrode', () => {
  const u = unfinishedProblem({ ...state, phase: 'apps-up' }, 'ns') ?? '';
  assert.match(u, 'kubectl pgupgrade upgrade -n ns deploy/postgres --to 14 --method dump');
  assert.match(ageProblem(state, new Date('2026-11-30T11:00:00.000Z'), 86_400_000, '24h') ?? '', 'finished 1h ago');
  const c = dumpStateConfigMap(STATE, 'ns', state);
  assert.match(unvalidatedProblem(c, state, 'ns') ?? '', `ConfigMap ns/${STATE} has no later ${VALIDATED_AT}`);
  assert.is(
    unvalidatedProblem(
      { ...c, metadata: { ...c.metadata, annotations: { [VALIDATED_AT]: '2026-11-30T10:30:00.000Z' } } },
      state,
      'ns',
    ),
    undefined,
  );
  assert.throws(
    () => overrideOrRefuse(['too young', undefined], false),
    /too young\. Nothing was changed; --force removes it all the same/,
  );
  assert.equal(overrideOrRefuse(['too young', undefined, 'not validated'], true), ['too young', 'not validated']);
});

test("after a rollback, a PVC that a pod mounts is not deleted, even with the new instance's workload gone: refused naming the pod, nothing deleted", async () => {
  const pod = (name: string, phase: string, claimName: string, labels?: Record<string, string>): Pod => ({
    metadata: { name, labels },
    phase,
    ready: false,
    spec: { containers: [], volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] },
  });
  const pods = [
    pod('debug', 'Running', 'data-postgres-v14'),
    pod('pgupgrade-job-x', 'Succeeded', 'data-postgres-v14', OWN),
    pod('app', 'Running', 'other'),
  ];
  assert.equal(
    podsMounting('data-postgres-v14', pods),
    ['debug (Running)'],
    "the plugin's own finished pods do not count; a running pod does",
  );
  assert.equal(
    podsMounting('data-postgres-v14', [pod('theirs', 'Succeeded', 'data-postgres-v14')]),
    ['theirs (Succeeded)'],
    "only the plugin's finished pods are deleted first",
  );
  const plan = {
    remove: [
      { kind: 'Deployment' as const, name: 'postgres-v14', why: '' },
      { kind: 'PersistentVolumeClaim' as const, name: 'data-postgres-v14', why: '' },
    ],
    keep: [],
  };
  const problem = mountedPvcProblem(plan, pods, 'ns') ?? '';
  assert.match(
    problem,
    'PVC ns/data-postgres-v14 is mounted by pod debug (Running): cleanup does not delete a volume that a pod uses, and nothing was deleted',
  );
  assert.match(problem, 'kubectl -n ns delete pod <name>');
  assert.is(mountedPvcProblem(plan, pods.slice(1), 'ns'), undefined);
  // Just before deleting, a pod that came since the plan stops the deletion: nothing deleted, exit 1.
  const deleted: string[] = [];
  const cluster = {
    listPods: async () => pods,
    deleteObject: async (r: { name: string }) => void deleted.push(r.name),
    readObject: async () => undefined,
  } as unknown as Cluster;
  const ctx = { cluster, d: { namespace: 'ns' }, plan } as unknown as CleanupCtx;
  const lock = {
    name: 'l',
    assertHeld: () => undefined,
    stopRenewing: () => undefined,
    release: async () => undefined,
  };
  const err = await removeKinds(ctx, lock, ['PersistentVolumeClaim'], 1000).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, CliError);
  assert.is((err as CliError).exitCode, 1);
  assert.match((err as Error).message, 'mounted by pod debug (Running)');
  assert.equal(deleted, []);
  ctx.cluster = { ...cluster, listPods: async () => pods.slice(1) } as Cluster;
  assert.is(await removeKinds(ctx, lock, ['PersistentVolumeClaim'], 1000), 1);
  assert.equal(deleted, ['data-postgres-v14']);
});

test.run();
