import { suite } from 'uvu';
import * as assert from 'uvu/assert';
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
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import {
  assertWritesPresent,
  committedWrites,
  countWrites,
  waitForWrites,
  withoutWrites,
} from '../../support/pg/writes.ts';
import { hostileRoleIsSuperuser } from '../../support/pg/hostile-role.ts';
import { assertNoSecret, deployCase, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';
import { VALIDATED_AT } from '../../../src/state/validated.ts';

// Issue 15, cleanup after an upgrade by dump: seed 000's official postgres:12 Deployment into a new 14 instance,
// then cleanup: guarded, exact, the plugin's objects by labels and recorded names, the old instance only when named.
const test = suite(
  'cleanup after an upgrade by dump: the old instance goes only when named, the new one keeps serving',
);
const c: Deployed = {
  name: 'official 12 → 14 by dump, then cleanup',
  file: 'majors',
  flavour: 'official',
  from: 12,
  to: 14,
  method: 'link',
  ns: uniqueNamespace('cleanup-dump'),
  pod: '',
};
/** The old instance's PVC, read from its Deployment once it is upgraded. */
let oldPvc = '';
const [APP, STATE, PASSWORD] = ['postgres-app', 'pgupgrade-dump-postgres', 'Cleanup-Dump-E2E-S3cret'];
const REFERENCE = `${STATE}-fingerprint`;
const OWN = { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade' };
const outputs: RunResult[] = [];

interface Item {
  kind: string;
  name: string;
  why: string;
}
interface Report {
  removed: Item[];
  kept: Item[];
  forced: string[];
}

async function cleanup(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const r = await runAsync(
    requireBinary(),
    ['cleanup', '-n', c.ns, 'deploy/postgres', ...args],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  return r;
}
const exists = async (cp: ControlPlane, kind: string, name: string) =>
  (await cp.kubectl(['-n', c.ns, 'get', kind, name], { allowFail: true })).code === 0;
/** Every object cleanup could touch, with its resourceVersion: equal strings mean nothing changed. */
const everything = async (cp: ControlPlane) =>
  (await resourceVersions(cp, c.ns)) +
  (
    await cp.kubectl([
      '-n',
      c.ns,
      'get',
      'services,secrets,leases',
      '-o',
      'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}',
    ])
  ).stdout;
const names = (items: Item[]) => items.map((i) => `${i.kind} ${i.name}`);
const newSql = async (cp: ControlPlane) =>
  podSql(cp, c.ns, await podName(cp, c.ns, 'pgupgrade.kubectl.io/instance=postgres-v14'), 'admin');

/** ConfigMaps of the user's own, with the plugin's labels and names like the record's, that the record does not name. */
const lookAlikes = () => [
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${STATE}-copy`,
      namespace: c.ns,
      labels: { ...OWN, 'pgupgrade.kubectl.io/role': 'upgrade-state' },
      annotations: { 'pgupgrade.kubectl.io/workload': 'Deployment/postgres', 'pgupgrade.kubectl.io/method': 'dump' },
    },
    data: { a: 'b' },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: `${REFERENCE}-old`,
      namespace: c.ns,
      labels: { ...OWN, 'pgupgrade.kubectl.io/role': 'dump-reference' },
    },
    data: { a: 'b' },
  },
];

test("set up: seed 000's Deployment on 12, its application writing, upgraded by dump into a new 14; look-alikes of the record", async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, c, PASSWORD);
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '-y'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  oldPvc = (
    await cp.kubectl([
      '-n',
      c.ns,
      'get',
      'deploy',
      'postgres',
      '-o',
      'jsonpath={.spec.template.spec.volumes[*].persistentVolumeClaim.claimName}',
    ])
  ).stdout.trim();
  assert.ok(oldPvc, 'the old instance has its PVC');
  assert.is(
    (await cp.kubectl(['-n', c.ns, 'get', 'deploy', 'postgres', '-o', 'jsonpath={.spec.replicas}'])).stdout,
    '0',
    'the old instance is scaled to 0',
  );
  await applyObjects(cp, lookAlikes());
});

test('before 24 h, and before validate, cleanup refuses with exit 2 and changes nothing', async () => {
  const { cp } = await sharedEnv();
  // The upgrade ends with validate's checks and records their pass; taken off, it stands for a validate not yet run.
  await cp.kubectl(['-n', c.ns, 'annotate', 'configmap', STATE, `${VALIDATED_AT}-`]);
  const before = await everything(cp);
  const young = await cleanup(cp, ['-y', '--delete-old-instance']);
  assert.is(young.code, 2, young.stderr);
  assert.match(
    young.stderr,
    /the upgrade finished \d+[sm].* ago .*less than --older-than 24h.*Nothing was changed; --force removes it all the same/,
  );
  const unvalidated = await cleanup(cp, ['--older-than', '0s', '-y', '--delete-old-instance']);
  assert.is(unvalidated.code, 2, unvalidated.stderr);
  assert.match(
    unvalidated.stderr,
    `validate has not passed since the upgrade finished (ConfigMap ${c.ns}/${STATE} has no later ${VALIDATED_AT})`,
  );
  assert.match(unvalidated.stderr, `run kubectl pgupgrade validate -n ${c.ns} deploy/postgres first`);
  assert.is(await everything(cp), before, 'nothing changed');
});

test('validate passes on the new instance, and records it on the dump record', async () => {
  const { cp } = await sharedEnv();
  const r = await runAsync(
    requireBinary(),
    ['validate', '-n', c.ns, 'deploy/postgres'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(
    (await cp.kubectl(['-n', c.ns, 'get', 'configmap', STATE, '-o', 'jsonpath={.metadata.annotations}'])).stdout,
    VALIDATED_AT,
  );
});

test('--dry-run lists exactly what would go, the old instance only when named, and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const before = await everything(cp);
  const plain = await cleanup(cp, ['--older-than', '0s', '--dry-run', '-o', 'json']);
  assert.is(plain.code, 0, plain.stderr);
  const p = JSON.parse(plain.stdout) as Report;
  assert.equal(p.removed, [], 'unnamed, the old instance stays, and the record and fingerprint with it (the way back)');
  assert.equal(names(p.kept), [
    'Deployment postgres',
    `PersistentVolumeClaim ${oldPvc}`,
    `ConfigMap ${REFERENCE}`,
    `ConfigMap ${STATE}`,
  ]);
  assert.match(p.kept[0]?.why ?? '', `kubectl pgupgrade cleanup -n ${c.ns} deploy/postgres --delete-old-instance`);
  const named = await cleanup(cp, ['--older-than', '0s', '--dry-run', '--delete-old-instance', '-o', 'json']);
  assert.is(named.code, 0, named.stderr);
  const n = JSON.parse(named.stdout) as Report;
  assert.equal(names(n.removed), [
    'Deployment postgres',
    `PersistentVolumeClaim ${oldPvc}`,
    `ConfigMap ${REFERENCE}`,
    `ConfigMap ${STATE}`,
  ]);
  assert.equal(n.kept, []);
  assert.match(n.removed[0]?.why ?? '', 'made by you (not by kubectl pgupgrade)');
  const text = await cleanup(cp, ['--older-than', '0s', '--dry-run', '--delete-old-instance']);
  assert.match(text.stdout, 'Would remove (Deployment/postgres in');
  assert.match(text.stdout, /ConfigMap pgupgrade-dump-postgres\s+the record of the upgrade by dump, last/);
  assert.is(await everything(cp), before, 'nothing changed');
});

test('-y without --delete-old-instance keeps the old instance, says how to remove it, and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const before = await everything(cp);
  const r = await cleanup(cp, ['--older-than', '0s', '-y']);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, 'Nothing to remove.');
  assert.match(
    r.stdout,
    /Kept:\n\s+Deployment postgres .*kept: it goes only when named: kubectl pgupgrade cleanup -n \S+ deploy\/postgres --delete-old-instance/,
  );
  assert.is(await everything(cp), before, 'nothing changed');
});

test("an old instance started again is never deleted: --delete-old-instance refused, exit 2, nothing of cleanup's changed", async () => {
  const { cp } = await sharedEnv();
  // The Deployment's status moves as its pod starts: its UID and generation (its spec) stand for it; the rest by resourceVersion.
  const ours = async () =>
    (await cp.kubectl(['-n', c.ns, 'get', 'deploy/postgres', '-o', 'jsonpath={.metadata.uid}/{.metadata.generation}']))
      .stdout +
    (
      await cp.kubectl([
        '-n',
        c.ns,
        'get',
        `pvc/${oldPvc}`,
        `configmap/${STATE}`,
        `configmap/${REFERENCE}`,
        '-o',
        'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}',
      ])
    ).stdout;
  await cp.kubectl(['-n', c.ns, 'scale', 'deploy/postgres', '--replicas=1']);
  const before = await ours();
  const r = await cleanup(cp, ['--older-than', '0s', '--delete-old-instance', '-y']);
  assert.is(r.code, 2, `${r.stdout}\n${r.stderr}`);
  assert.match(
    r.stderr,
    /--delete-old-instance: Deployment \S+\/postgres is not deleted: it is scaled to 1, not 0 as the upgrade left it.*Nothing was changed/,
  );
  assert.is(await ours(), before, 'nothing changed');
  // deployCase planted mallory (issue 24): the dump, validate and cleanup left her NOSUPERUSER on the old instance too.
  const old = await podName(cp, c.ns, 'k8s-app=postgres');
  await waitReady(cp, c.ns, old);
  assert.is(
    await hostileRoleIsSuperuser(podSql(cp, c.ns, old, 'admin')),
    false,
    'mallory is still NOSUPERUSER on the old instance',
  );
  await cp.kubectl(['-n', c.ns, 'scale', 'deploy/postgres', '--replicas=0']);
  await cp.kubectl(['-n', c.ns, 'wait', '--for=delete', 'pod', '-l', 'k8s-app=postgres', '--timeout=120s'], {
    allowFail: true,
  });
  assert.is(
    (await cp.kubectl(['-n', c.ns, 'get', 'pods', '-l', 'k8s-app=postgres', '-o', 'name'])).stdout.trim(),
    '',
    'the old instance is stopped again',
  );
});

test('--delete-old-instance: the old Deployment and its PVC go, then the record, last; the new instance keeps serving, its data intact', async () => {
  const { cp } = await sharedEnv();
  const sql = await newSql(cp);
  const pod = await podName(cp, c.ns, 'pgupgrade.kubectl.io/instance=postgres-v14');
  const fp: Fingerprint = withoutWrites(await takeFingerprint(sql));
  const r = await cleanup(cp, ['--older-than', '0s', '--delete-old-instance', '-y', '-o', 'json']);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(names(rep.removed), [
    'Deployment postgres',
    `PersistentVolumeClaim ${oldPvc}`,
    `ConfigMap ${REFERENCE}`,
    `ConfigMap ${STATE}`,
  ]);
  assert.equal(rep.forced, []);
  assert.not.match(r.stderr, '--force');
  assert.ok(
    r.stderr.indexOf('Delete the old instance and its volume') < r.stderr.lastIndexOf('the record of the upgrade'),
    r.stderr,
  );
  for (const [kind, name] of [
    ['deploy', 'postgres'],
    ['pvc', oldPvc],
    ['configmap', STATE],
    ['configmap', REFERENCE],
    ['lease', `${STATE}-lock`],
  ]) {
    assert.not.ok(await exists(cp, kind as string, name as string), `${kind} ${name} is gone`);
  }
  for (const o of lookAlikes())
    assert.ok(await exists(cp, 'configmap', o.metadata.name), `the look-alike ConfigMap ${o.metadata.name} survives`);
  for (const [kind, name] of [
    ['deploy', 'postgres-v14'],
    ['pvc', 'data-postgres-v14'],
    ['service', 'postgres'],
    ['service', 'postgres-v14'],
    ['deploy', APP],
  ]) {
    assert.ok(await exists(cp, kind as string, name as string), `${kind} ${name} stays`);
  }
  // The new instance served all along: the same pod, ready, on 14, its data equal, the application still writing.
  assert.is(await podName(cp, c.ns, 'pgupgrade.kubectl.io/instance=postgres-v14'), pod);
  await waitReady(cp, c.ns, pod);
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 14);
  assert.equal(compareFingerprints(fp, withoutWrites(await takeFingerprint(sql))), []);
  const on14 = countWrites(await committedWrites(cp, c.ns, APP)).byMajor[14] ?? 0;
  await waitForWrites(cp, c.ns, { app: APP, major: 14, moreThan: on14 + 3 });
  await assertWritesPresent(sql, await committedWrites(cp, c.ns, APP));
  assert.is(await hostileRoleIsSuperuser(sql), false, 'mallory is still NOSUPERUSER on the new instance after cleanup');
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 10);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
