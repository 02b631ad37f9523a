import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import {
  applyObjects,
  podName,
  podSql,
  releaseNamespaces,
  resourceVersions,
  waitReady,
} from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { assertWritesPresent, committedWrites, withoutWrites } from '../../support/pg/writes.ts';
import { hostileRoleIsSuperuser } from '../../support/pg/hostile-role.ts';
import { assertNoSecret, deployCase, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';
import { VALIDATED_AT } from '../../../src/state/validated.ts';

const test = suite('kubectl pgupgrade cleanup: guarded, exact, and only what the upgrade made');
const PASSWORD = 'Cleanup-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'Bitnami 13 → 15, link, then cleanup',
  file: 'upgrade',
  flavour: 'bitnami',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('cleanup'),
  pod: '',
};
const STATE = 'pgupgrade-state-circleci-postgresql';
const REFERENCE = 'pgupgrade-fingerprint-circleci-postgresql';
const JOB = 'pgupgrade-circleci-postgresql-to-15';
const OWN = { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade' };
let snapshot = '';

async function cleanup(cp: ControlPlane, args: string[], kubeconfig = cp.kubeconfig): Promise<RunResult> {
  const r = await runAsync(requireBinary(), ['cleanup', '-n', c.ns, ...args], { KUBECONFIG: kubeconfig }, 300_000);
  outputs.push(r);
  return r;
}
const ls = async (cp: ControlPlane, pod: string) =>
  (await cp.kubectl(['-n', c.ns, 'exec', pod, '-c', 'postgresql', '--', 'ls', '-a', '/bitnami/postgresql'])).stdout;
const exists = async (cp: ControlPlane, kind: string, name: string) =>
  (await cp.kubectl(['-n', c.ns, 'get', kind, name], { allowFail: true })).code === 0;

/** A ConfigMap and a Job with names like the upgrade's and even the plugin's labels, that the record does not name. */
function lookAlikes(): Array<Record<string, unknown>> {
  const restricted = { runAsNonRoot: true, runAsUser: 1001, seccompProfile: { type: 'RuntimeDefault' } };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${STATE}-copy`,
        namespace: c.ns,
        labels: { ...OWN, 'pgupgrade.kubectl.io/role': 'upgrade-state' },
      },
      data: { a: 'b' },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `${REFERENCE}-old`,
        namespace: c.ns,
        labels: { ...OWN, 'pgupgrade.kubectl.io/role': 'fingerprint' },
        annotations: { 'pgupgrade.kubectl.io/workload': 'StatefulSet/circleci-postgresql' },
      },
      data: { a: 'b' },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: `${JOB}-mine`,
        namespace: c.ns,
        labels: { ...OWN, 'pgupgrade.kubectl.io/role': 'upgrade-job' },
      },
      spec: {
        suspend: true,
        template: {
          spec: {
            restartPolicy: 'Never',
            securityContext: restricted,
            containers: [
              {
                name: 'x',
                image: 'bitnami/postgresql:15',
                command: ['true'],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    },
  ];
}

test('set up: a Bitnami 13 database with its writing application, upgraded to 15 by the binary; look-alikes of our objects', async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, c, PASSWORD);
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  snapshot = (JSON.parse(r.stdout) as { snapshot: string }).snapshot;
  assert.ok(snapshot);
  // The upgrade ends with validate's checks and records their pass, as validate does. Taken off here, it stands
  // for an upgrade whose checks did not pass: cleanup must then wait for validate.
  const annotations = async () =>
    (await cp.kubectl(['-n', c.ns, 'get', 'configmap', STATE, '-o', 'jsonpath={.metadata.annotations}'])).stdout;
  assert.match(await annotations(), 'pgupgrade.kubectl.io/validated-at');
  await cp.kubectl(['-n', c.ns, 'annotate', 'configmap', STATE, 'pgupgrade.kubectl.io/validated-at-']);
  assert.not.match(await annotations(), 'pgupgrade.kubectl.io/validated-at');
  await applyObjects(cp, lookAlikes());
  assert.match(await ls(cp, await podName(cp, c.ns, 'app.kubernetes.io/name=postgresql')), 'data-13.preupgrade');
});

test('before 24 h, and before validate, cleanup refuses with exit 2 and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const before = await resourceVersions(cp, c.ns);
  const young = await cleanup(cp, ['-y']);
  assert.is(young.code, 2, young.stderr);
  assert.match(
    young.stderr,
    /the upgrade finished \d+[sm].* ago .*less than --older-than 24h.*Nothing was changed; --force removes it all the same/,
  );
  const unvalidated = await cleanup(cp, ['--older-than', '0s', '-y']);
  assert.is(unvalidated.code, 2, unvalidated.stderr);
  assert.match(
    unvalidated.stderr,
    `validate has not passed since the upgrade finished (ConfigMap ${c.ns}/${STATE} has no later pgupgrade.kubectl.io/validated-at)`,
  );
  assert.match(unvalidated.stderr, `run kubectl pgupgrade validate -n ${c.ns} sts/circleci-postgresql first`);
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('bad input exits 2 with a clear message and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const before = await resourceVersions(cp, c.ns);
  const cases: Array<[string[], RegExp]> = [
    [
      ['--older-than', 'abc'],
      /--older-than "abc" is not a duration: give a whole number with a unit s, m, h or d, e\.g\. 0s, 30m, 24h, 7d/,
    ],
    [['--older-than', '1w', '--force'], /--older-than "1w" is not a duration/],
    [['sts/nope', '--older-than', '0s', '--force', '-y'], /no StatefulSet named nope/],
    [['--older-than', '0s', '--force'], /confirm with -y/],
  ];
  for (const [args, msg] of cases) {
    const r = await cleanup(cp, args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('a user with read-only access is told what is missing, and nothing changes', async () => {
  const { cp } = await sharedEnv();
  const sa = `readonly-${process.pid}`;
  await applyObjects(cp, [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: c.ns } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: sa },
      rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: sa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: c.ns }],
    },
  ]);
  const token = (await cp.kubectl(['-n', c.ns, 'create', 'token', sa])).stdout.trim();
  const admin = load(fs.readFileSync(cp.kubeconfig, 'utf8')) as { clusters: Array<{ name: string }> };
  const kc = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-kc-')), 'config');
  fs.writeFileSync(
    kc,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ro',
      clusters: admin.clusters,
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: 'ro', context: { cluster: admin.clusters[0]?.name, user: sa, namespace: c.ns } }],
    }),
    { mode: 0o600 },
  );
  const before = await resourceVersions(cp, c.ns);
  const r = await cleanup(cp, ['--older-than', '0s', '--force', '-y'], kc);
  assert.is(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /may not do what cleanup does in namespace \S+; nothing was changed\. Missing: .*delete batch\/jobs/,
  );
  assert.match(r.stderr, 'delete configmaps');
  assert.not.match(r.stderr, /\n\s+at /);
  // --dry-run only reads: it works for such a user, who may not exec to look at the volume.
  const dry = await cleanup(cp, ['--dry-run', '--older-than', '0s', '--force'], kc);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(
    dry.stdout,
    /Directory \/bitnami\/postgresql\/data-13\.preupgrade +the old cluster, PostgreSQL 13 on PVC \S+, if it is there/,
  );
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('--dry-run lists exactly what would go, as text and JSON, says what --force overrode, and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const before = await resourceVersions(cp, c.ns);
  const r = await cleanup(cp, ['--dry-run', '--older-than', '0s', '--force', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, '--force: going on although validate has not passed');
  const rep = JSON.parse(r.stdout) as {
    dryRun: boolean;
    forced: string[];
    removed: Array<{ kind: string; name: string }>;
    kept: unknown[];
  };
  assert.ok(rep.dryRun);
  assert.is(rep.forced.length, 1);
  const jobPods = (
    await cp.kubectl(['-n', c.ns, 'get', 'pods', '-l', `job-name=${JOB}`, '-o', 'jsonpath={.items[*].metadata.name}'])
  ).stdout
    .split(' ')
    .filter(Boolean);
  assert.ok(jobPods.length >= 1);
  assert.equal(
    rep.removed.map((i) => `${i.kind} ${i.name}`),
    [
      'Directory /bitnami/postgresql/data-13.preupgrade',
      'Directory /bitnami/postgresql/.pgupgrade-work',
      `Job ${JOB}`,
      ...jobPods.map((p) => `Pod ${p}`),
      `VolumeSnapshot ${snapshot}`,
      `ConfigMap ${REFERENCE}`,
      `ConfigMap ${STATE}`,
    ],
  );
  assert.equal(rep.kept, []);
  const text = await cleanup(cp, ['--dry-run', '--older-than', '0s', '--force', '--keep-snapshots']);
  assert.is(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    /Would remove .*--dry-run: nothing was changed\):\n {2}Directory \/bitnami\/postgresql\/data-13\.preupgrade +the old cluster, PostgreSQL 13 on PVC/,
  );
  assert.match(
    text.stdout,
    new RegExp(`Kept:\\n {2}VolumeSnapshot ${snapshot} +the snapshot taken before the upgrade \\(--keep-snapshots\\)`),
  );
  const yaml = await cleanup(cp, ['--dry-run', '--older-than', '0s', '--force', '-o', 'yaml']);
  assert.equal((load(yaml.stdout) as { removed: unknown[] }).removed, rep.removed);
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('validated as validate records it, cleanup --older-than 0s -y --keep-snapshots removes the old cluster and the rest; the database runs on, its data equal', async () => {
  const { cp } = await sharedEnv();
  const pod = await podName(cp, c.ns, 'app.kubernetes.io/name=postgresql');
  const sql = podSql(cp, c.ns, pod, 'postgres');
  const fp = withoutWrites(await takeFingerprint(sql));
  // What validate writes when it passes (src/state/validated.ts): the guard is then met, without --force.
  await cp.kubectl(['-n', c.ns, 'annotate', 'configmap', STATE, `${VALIDATED_AT}=${new Date().toISOString()}`]);
  const r = await cleanup(cp, ['--older-than', '0s', '--keep-snapshots', '-y']);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.not.match(r.stderr, '--force');
  assert.match(r.stdout, 'Removed (StatefulSet/circleci-postgresql');
  const dir = await ls(cp, pod);
  assert.not.match(dir, 'data-13.preupgrade');
  assert.not.match(dir, '.pgupgrade-work');
  assert.match(dir, /\bdata\b/);
  for (const job of [JOB, `${JOB}-cleanup`]) assert.not.ok(await exists(cp, 'job', job), `Job ${job} is gone`);
  assert.not.ok(await exists(cp, 'configmap', STATE), 'the record is gone');
  assert.not.ok(await exists(cp, 'configmap', REFERENCE), 'the reference is gone');
  assert.not.ok(await exists(cp, 'lease', `${STATE}-lock`), 'the lock is released');
  assert.ok(await exists(cp, 'volumesnapshot', snapshot), 'the snapshot stays with --keep-snapshots');
  for (const [kind, name] of [
    ['configmap', `${STATE}-copy`],
    ['configmap', `${REFERENCE}-old`],
    ['job', `${JOB}-mine`],
  ] as const) {
    assert.ok(await exists(cp, kind, name), `the look-alike ${kind} ${name} survives`);
  }
  // The database kept running all along: the same pod, ready, on 15, with its data and every committed write.
  assert.is(await podName(cp, c.ns, 'app.kubernetes.io/name=postgresql'), pod);
  await waitReady(cp, c.ns, pod);
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 15);
  assert.equal(compareFingerprints(fp, withoutWrites(await takeFingerprint(sql))), []);
  await assertWritesPresent(sql, await committedWrites(cp, c.ns));
  assert.is(
    await hostileRoleIsSuperuser(sql),
    false,
    'deployCase planted mallory: she is still NOSUPERUSER on the new cluster after cleanup',
  );
  const again = await cleanup(cp, ['--older-than', '0s', '--force', '-y']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, /no upgrade of StatefulSet \S+\/circleci-postgresql is recorded .*: nothing to clean up/);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 10);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
