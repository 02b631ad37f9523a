import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { KObject, Pod } from '../../../src/k8s/cluster.ts';
import { buildCleanupJob, buildUpgradeJob } from '../../../src/manifests/upgrade-job.ts';
import { upgradePaths } from '../../../src/postgres/upgrade-script.ts';
import { stateConfigMap, type UpgradeState } from '../../../src/state/state.ts';
import { VALIDATED_AT, validatedPatch, validatedSince } from '../../../src/state/validated.ts';
import { ageProblem, unfinishedProblem, unvalidatedProblem } from '../../../src/commands/cleanup/guards.ts';
import { isOurs } from '../../../src/commands/cleanup/owned-objects.ts';
import { planCleanup, planText, type Found } from '../../../src/commands/cleanup/plan.ts';
import { jobSpec } from '../doubles/job-spec.ts';

const test = suite('cleanup: its guards, the look-alike rule and the plan of what goes');

const DONE_AT = '2026-11-30T10:00:00.000Z';
const state: UpgradeState = {
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
  snapshot: 'data-db-0-pgupgrade-20261130-095500',
  fingerprintConfigMap: 'pgupgrade-fingerprint-db',
  job: jobSpec.name,
  jobSpec,
  phase: 'done',
  history: [
    { phase: 'job', at: '2026-11-30T09:58:00.000Z' },
    { phase: 'done', at: DONE_AT },
  ],
};
const SNAP = state.snapshot as string;
const OWN = { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade' };
const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  role: string | undefined,
  extra: Partial<KObject> & { annotations?: Record<string, string> } = {},
): KObject => ({
  apiVersion,
  kind,
  ...extra,
  metadata: {
    name,
    namespace: 'ns',
    labels: role ? { ...OWN, 'pgupgrade.kubectl.io/role': role } : { app: 'mine' },
    annotations: extra.annotations,
  },
});
const done = { status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } };
const pod = (
  name: string,
  role: string,
  phase: string,
  labels: Record<string, string> = {},
  claim = 'data-db-0',
  workload = 'StatefulSet/db',
): Pod => ({
  metadata: {
    name,
    labels: { ...OWN, 'pgupgrade.kubectl.io/role': role, ...labels },
    annotations: { 'pgupgrade.kubectl.io/workload': workload },
  },
  spec: { containers: [], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] },
  phase,
  ready: false,
});
const paths = upgradePaths(jobSpec.pgdata, 13, 15);
const recorded = { state, stateName: 'pgupgrade-state-db', kept: paths.kept, work: paths.work };
const restored = `${SNAP}-reference-a1b2c3`;

function found(): Found {
  return {
    jobs: [
      obj('batch/v1', 'Job', jobSpec.name, 'upgrade-job', done),
      // Look-alikes: a name like ours with the plugin's labels, and our exact name without them.
      obj('batch/v1', 'Job', `${jobSpec.name}-mine`, 'upgrade-job', done),
      obj('batch/v1', 'Job', 'pgupgrade-db-to-15-rollback', undefined, done),
    ],
    pods: [
      pod('pgupgrade-db-to-15-abcde', 'upgrade-job', 'Succeeded', { 'job-name': jobSpec.name }),
      pod('pgupgrade-db-to-15-mine-x', 'upgrade-job', 'Succeeded', { 'job-name': `${jobSpec.name}-mine` }),
      pod('pgupgrade-check-123456', 'check-probe', 'Failed'),
      pod('pgupgrade-check-running', 'check-probe', 'Running'),
      pod('pgupgrade-check-other', 'check-probe', 'Failed', {}, 'data-other-0', 'StatefulSet/other'),
      pod('pgupgrade-snapshot-reference-1', 'snapshot-reference', 'Failed', {}, restored),
    ],
    pvcs: [
      obj('v1', 'PersistentVolumeClaim', restored, 'snapshot-reference', { spec: { dataSource: { name: SNAP } } }),
      obj('v1', 'PersistentVolumeClaim', `${SNAP}-reference-mine`, 'snapshot-reference', {
        spec: { dataSource: { name: 'another-snapshot' } },
      }),
      obj('v1', 'PersistentVolumeClaim', 'data-db-0', undefined),
    ],
    snapshots: [
      obj('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', SNAP, 'snapshot', {
        annotations: { 'pgupgrade.kubectl.io/pvc': 'data-db-0' },
      }),
      obj('snapshot.storage.k8s.io/v1', 'VolumeSnapshot', 'data-db-0-pgupgrade-20250101-000000', 'snapshot', {
        annotations: { 'pgupgrade.kubectl.io/pvc': 'data-db-0' },
      }),
    ],
    configMaps: [
      obj('v1', 'ConfigMap', 'pgupgrade-state-db', 'upgrade-state'),
      obj('v1', 'ConfigMap', 'pgupgrade-state-db2', 'upgrade-state'),
      obj('v1', 'ConfigMap', 'pgupgrade-fingerprint-db', 'fingerprint', {
        annotations: { 'pgupgrade.kubectl.io/workload': 'StatefulSet/db' },
      }),
      obj('v1', 'ConfigMap', `${SNAP}-fingerprint`, 'fingerprint', {
        annotations: { 'pgupgrade.kubectl.io/snapshot': SNAP },
      }),
      obj('v1', 'ConfigMap', 'pgupgrade-fingerprint-db-copy', 'fingerprint', {
        annotations: { 'pgupgrade.kubectl.io/workload': 'StatefulSet/db' },
      }),
    ],
    paths: [paths.kept, paths.work],
  };
}
const opts = { keepSnapshots: false, jobName: 'pgupgrade-db-to-15-cleanup', uid: 1001, image: 'bitnami/postgresql:15' };
const names = (items: Array<{ kind: string; name: string }>) => items.map((i) => `${i.kind} ${i.name}`);

test('the plan: directories first, then Jobs and their pods, probes, restored PVCs, the snapshot, and the record last', () => {
  const p = planCleanup(recorded, found(), opts);
  assert.equal(names(p.remove), [
    'Directory /bitnami/postgresql/data-13.preupgrade',
    'Directory /bitnami/postgresql/.pgupgrade-work',
    `Job ${jobSpec.name}`,
    'Pod pgupgrade-db-to-15-abcde',
    'Pod pgupgrade-check-123456',
    'Pod pgupgrade-snapshot-reference-1',
    `PersistentVolumeClaim ${restored}`,
    `VolumeSnapshot ${SNAP}`,
    `ConfigMap ${SNAP}-fingerprint`,
    'ConfigMap pgupgrade-fingerprint-db',
    'ConfigMap pgupgrade-state-db',
  ]);
  assert.equal(names(p.keep), ['Pod pgupgrade-check-running']);
  assert.match(
    p.remove[0]?.why ?? '',
    'by Job pgupgrade-db-to-15-cleanup (image bitnami/postgresql:15) as UID 1001',
    'the confirmation shows the image that runs with the data mounted',
  );
});

test('a reference fingerprint kept in parts: each part is removed with it, a look-alike part of another is not', () => {
  const f = found();
  const part = (name: string, of: string) =>
    obj('v1', 'ConfigMap', name, 'fingerprint', { annotations: { 'pgupgrade.kubectl.io/fingerprint-part-of': of } });
  f.configMaps.push(
    part('pgupgrade-fingerprint-db-part-3', 'pgupgrade-fingerprint-db'),
    part('pgupgrade-fingerprint-db-part-2', 'pgupgrade-fingerprint-db'),
    part('pgupgrade-fingerprint-db-part-x', 'pgupgrade-fingerprint-db'),
    part('pgupgrade-fingerprint-db-copy-part-2', 'pgupgrade-fingerprint-db-copy'),
  );
  const removed = names(planCleanup(recorded, f, opts).remove);
  assert.equal(
    removed.filter((n) => n.includes('pgupgrade-fingerprint-db')),
    [
      'ConfigMap pgupgrade-fingerprint-db',
      'ConfigMap pgupgrade-fingerprint-db-part-2',
      'ConfigMap pgupgrade-fingerprint-db-part-3',
    ],
  );
});

test("look-alikes survive: a similar name with the labels, the exact name without them, another snapshot's objects", () => {
  const gone = names(planCleanup(recorded, found(), opts).remove);
  for (const survivor of [
    `Job ${jobSpec.name}-mine`,
    'Job pgupgrade-db-to-15-rollback',
    'Pod pgupgrade-db-to-15-mine-x',
    'Pod pgupgrade-check-other',
    `PersistentVolumeClaim ${SNAP}-reference-mine`,
    'PersistentVolumeClaim data-db-0',
    'VolumeSnapshot data-db-0-pgupgrade-20250101-000000',
    'ConfigMap pgupgrade-state-db2',
    'ConfigMap pgupgrade-fingerprint-db-copy',
  ]) {
    assert.not.ok(gone.includes(survivor), survivor);
  }
  assert.ok(isOurs({ metadata: { labels: { ...OWN, 'pgupgrade.kubectl.io/role': 'upgrade-job' } } }, 'upgrade-job'));
  assert.not.ok(
    isOurs(
      { metadata: { labels: { 'app.kubernetes.io/managed-by': 'helm', 'pgupgrade.kubectl.io/role': 'upgrade-job' } } },
      'upgrade-job',
    ),
  );
  assert.not.ok(isOurs({ metadata: { labels: OWN } }, 'upgrade-job'));
});

test('--keep-snapshots keeps the snapshot and its fingerprint; a running Job is kept; directories already gone are not listed', () => {
  const f = found();
  f.paths = [paths.work];
  f.jobs[0] = obj('batch/v1', 'Job', jobSpec.name, 'upgrade-job', { status: { active: 1 } });
  const p = planCleanup(recorded, f, { ...opts, keepSnapshots: true });
  assert.not.ok(names(p.remove).some((n) => n.includes(SNAP) && !n.includes('reference')));
  assert.equal(names(p.keep), [
    `Job ${jobSpec.name}`,
    'Pod pgupgrade-check-running',
    `VolumeSnapshot ${SNAP}`,
    `ConfigMap ${SNAP}-fingerprint`,
  ]);
  assert.not.ok(names(p.remove).includes(`Directory ${paths.kept}`));
  assert.not.ok(names(p.remove).includes('Pod pgupgrade-db-to-15-abcde'), 'the pod of a Job that stays, stays');
  assert.match(planText(p, 'Would remove'), /^Would remove:\n {2}Directory \/bitnami\/postgresql\/\.pgupgrade-work/);
  assert.match(planText(p, 'Would remove'), '\nKept:\n');
});

test('unknown paths (the database pod does not run) are listed as "if it is there"', () => {
  const f = found();
  delete f.paths;
  assert.match(planCleanup(recorded, f, opts).remove[0]?.why ?? '', 'if it is there');
});

test('guards: unfinished refused with resume and rollback; too young; validate not passed since the upgrade', () => {
  assert.is(unfinishedProblem(state, 'ns'), undefined);
  const u = unfinishedProblem({ ...state, phase: 'db-up' }, 'ns') ?? '';
  assert.match(u, 'stopped after its "db-up" phase');
  assert.match(u, 'kubectl pgupgrade upgrade -n ns sts/db --to 15 --method link');
  assert.match(u, 'kubectl pgupgrade upgrade -n ns sts/db --rollback');
  const day = 86_400_000;
  assert.is(ageProblem(state, new Date(Date.parse(DONE_AT) + day), day, '24h'), undefined);
  assert.match(
    ageProblem(state, new Date(Date.parse(DONE_AT) + 3_600_000), day, '24h') ?? '',
    /finished 1h ago .* less than --older-than 24h.*after 2026-12-01T10:00:00.000Z/,
  );
  assert.is(ageProblem(state, new Date(Date.parse(DONE_AT)), 0, '0s'), undefined);
  assert.match(ageProblem({ ...state, history: [] }, new Date(), 0, '0s') ?? '', 'age is unknown');
  const cm = stateConfigMap('pgupgrade-state-db', 'ns', state);
  assert.match(unvalidatedProblem(cm, state, 'ns') ?? '', 'run kubectl pgupgrade validate -n ns sts/db first');
  const before = { ...cm, metadata: { ...cm.metadata, annotations: { [VALIDATED_AT]: '2026-11-30T09:59:00.000Z' } } };
  assert.ok(
    unvalidatedProblem(before, state, 'ns'),
    'a validate that passed before the upgrade finished does not count',
  );
  const after = {
    ...cm,
    metadata: { ...cm.metadata, ...validatedPatch(new Date('2026-11-30T11:00:00.000Z')).metadata },
  };
  assert.is(unvalidatedProblem(after, state, 'ns'), undefined);
  assert.equal(validatedSince(after, state), new Date('2026-11-30T11:00:00.000Z'));
  assert.is(
    validatedSince({ ...cm, metadata: { ...cm.metadata, annotations: { [VALIDATED_AT]: 'yesterday' } } }, state),
    undefined,
  );
});

test("the cleanup Job: the upgrade Job's identity and restricted profile, on the database's node, its own name and role", () => {
  const j = buildCleanupJob(jobSpec, 'node-1');
  const up = buildUpgradeJob(jobSpec);
  assert.is(j.metadata.name, 'pgupgrade-db-to-15-cleanup');
  assert.is(j.metadata.labels?.['pgupgrade.kubectl.io/role'], 'cleanup-job');
  const spec = j.spec?.template.spec;
  assert.is(spec.nodeName, 'node-1');
  assert.equal(spec.securityContext, up.spec?.template.spec.securityContext);
  assert.equal(spec.containers[0].securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
  });
  assert.equal(spec.volumes[0], { name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } });
  assert.equal(spec.containers[0].command.slice(-3), ['/bitnami/postgresql/data', '13', '15']);
  assert.is(buildCleanupJob({ ...jobSpec, name: 'x'.repeat(70) }, undefined).metadata.name.length, 60);
});

test.run();
