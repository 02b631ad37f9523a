import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { writerApp } from '../../support/fixtures/writer.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  releaseNamespaces,
  resourceVersions,
  waitReady,
} from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import {
  assertWritesPresent,
  committedWrites,
  countWrites,
  waitForWrites,
  withoutWrites,
} from '../../support/pg/writes.ts';
import { assertNoSecret, upgradeCli } from '../../support/upgrade-cases.ts';

// Issue 14, acceptance 3: an official-image Deployment with no volume at all (its data in the container's writable
// layer, which the node agent's sandbox keeps for the container's life and drops with it) and its password written
// in the manifest, moved by dump into a new instance with a PVC and a Secret of its own; the old one left running,
// since stopped it would lose its data, and the rollback's way back.
const test = suite(
  'upgrade --method dump: a Deployment with no volume and an inline password → a new instance with a PVC and a Secret',
);
const PASSWORD = 'NoVolume-Inline-S3cret';
const ns = uniqueNamespace('dump-novolume');
const APP = 'postgres-app';
const outputs: RunResult[] = [];
let before: Fingerprint;
/** The old instance's pod as it was seeded: its data exists only in this container. */
let oldPod = { name: '', uid: '', restarts: '' };

/** The database: postgres:13, POSTGRES_PASSWORD as a value, no volume at all; its Service; the writing application with a Secret of its own. */
function objects(): Array<Record<string, unknown>> {
  const labels = { 'k8s-app': 'postgres' };
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-db', namespace: ns },
      type: 'Opaque',
      data: { password: Buffer.from(PASSWORD).toString('base64') },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'postgres', namespace: ns },
      spec: { selector: labels, ports: [{ port: 5432, targetPort: 5432 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'postgres', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        strategy: { type: 'Recreate' },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'postgres',
                image: 'postgres:13',
                env: [
                  { name: 'POSTGRES_USER', value: 'admin' },
                  { name: 'POSTGRES_PASSWORD', value: PASSWORD },
                ],
                readinessProbe: {
                  exec: { command: ['pg_isready', '-h', '127.0.0.1', '-U', 'admin'] },
                  periodSeconds: 2,
                },
              },
            ],
          },
        },
      },
    },
    ...writerApp({
      namespace: ns,
      name: APP,
      dbHost: 'postgres',
      user: 'admin',
      secretName: 'app-db',
      secretKey: 'password',
      replicas: 1,
    }),
  ];
}

const kubectl = async (cp: ControlPlane, args: string[]) =>
  (await cp.kubectl(['-n', ns, ...args], { allowFail: true })).stdout;
const selectorOf = async (cp: ControlPlane) =>
  JSON.parse(await kubectl(cp, ['get', 'service', 'postgres', '-o', 'jsonpath={.spec.selector}'])) as Record<
    string,
    string
  >;
const replicasOf = async (cp: ControlPlane, deploy: string) =>
  Number(await kubectl(cp, ['get', 'deploy', deploy, '-o', 'jsonpath={.spec.replicas}']));
const podOf = async (cp: ControlPlane, name: string) => ({
  name,
  uid: await kubectl(cp, ['get', 'pod', name, '-o', 'jsonpath={.metadata.uid}']),
  restarts: await kubectl(cp, ['get', 'pod', name, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']),
});
const secretsOfOurs = async (cp: ControlPlane) =>
  await kubectl(cp, [
    'get',
    'secrets',
    '-l',
    'app.kubernetes.io/managed-by=kubectl-pgupgrade,pgupgrade.kubectl.io/role!=record-key',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}',
  ]);

test('set up: postgres:13 with no volume and an inline password, seeded, its application writing', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns);
  await applyObjects(cp, objects());
  const pod = await podName(cp, ns, 'k8s-app=postgres');
  await waitReady(cp, ns, pod);
  const deployed = JSON.parse(
    await kubectl(cp, ['get', 'deploy', 'postgres', '-o', 'jsonpath={.spec.template.spec}']),
  ) as { volumes?: unknown[]; containers: Array<{ volumeMounts?: unknown[] }> };
  assert.is(deployed.volumes, undefined, 'no volume at all, not even an emptyDir');
  assert.is(deployed.containers[0]?.volumeMounts, undefined);
  const sql = podSql(cp, ns, pod, 'admin');
  assert.is((await sql('postgres', 'show data_directory')).trim(), '/var/lib/postgresql/data');
  await seedCluster(sql, { rows: 200 });
  before = await takeFingerprint(sql);
  assert.ok(Object.keys(before.perDb).length >= 3, JSON.stringify(Object.keys(before.perDb)));
  await waitForWrites(cp, ns, { app: APP, major: 13, moreThan: 10 });
  oldPod = await podOf(cp, pod);
});

test('in place it is refused, pointing to --method dump; check --method dump says what it will do about both', async () => {
  const { cp } = await sharedEnv();
  const versions = await resourceVersions(cp, ns);
  const inPlace = await upgradeCli(cp, ['-n', ns, '--to', '15', '-y'], outputs);
  assert.is(inPlace.code, 2, inPlace.stderr);
  assert.match(
    inPlace.stderr,
    `Deployment ${ns}/postgres: no volume is mounted at PGDATA /var/lib/postgresql/data; the data lives in the container's writable layer`,
  );
  assert.match(inPlace.stderr, '--method dump');
  const check = await runAsync(
    requireBinary(),
    ['check', '-n', ns, '--to', '15', '--method', 'dump', '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(check);
  const rep = JSON.parse(check.stdout) as {
    discovery: { pvc: unknown };
    checks: Array<{ id: string; status: string; found: string }>;
  };
  assert.is(rep.discovery.pvc, null);
  const by = (id: string) => rep.checks.find((c) => c.id === id);
  assert.is(by('no-volume')?.status, 'warn', check.stdout);
  assert.is(by('inline-password')?.status, 'warn');
  assert.match(by('inline-password')?.found ?? '', 'POSTGRES_PASSWORD is written in the manifest');
  assert.is(by('credentials')?.status, 'pass', 'the dump method reads the inline password to connect');
  assert.is(check.code, 0, `${check.stdout}\n${check.stderr}`);
  assert.is(await resourceVersions(cp, ns), versions, 'nothing changed');
});

test('--dry-run: the Secret it will make (no value shown), the new PVC sized from the data, the old instance left running; nothing changed', async () => {
  const { cp } = await sharedEnv();
  const versions = (await resourceVersions(cp, ns)) + (await secretsOfOurs(cp));
  const r = await upgradeCli(cp, ['-n', ns, '--to', '15', '--method', 'dump', '--dry-run'], outputs);
  assert.is(r.code, 0, r.stderr);
  for (const s of [
    'name: postgres-v15-superuser',
    'name: data-postgres-v15',
    'storage: 2Gi',
    'the old instance is left running: it has no volume',
  ])
    assert.match(r.stdout, s);
  assert.ok(
    r.stdout.indexOf('name: postgres-v15-superuser') < r.stdout.indexOf('name: data-postgres-v15'),
    'the Secret comes first',
  );
  assert.not.match(r.stdout, 'scaled to 0');
  assert.is((await resourceVersions(cp, ns)) + (await secretsOfOurs(cp)), versions, 'nothing changed');
});

let rep: {
  newInstance: string;
  pvc: string;
  secret: string;
  sourcePvc: unknown;
  sourceLeftRunning: boolean;
  whyItMatters: string[];
  fingerprint: { equal: boolean };
  validation: { summary: { fail: number } };
};

test('13 → a new 15 instance: a PVC and a Secret of its own, every write there, equal data, the old instance still running in the same container', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', ns, '--to', '15', '--method', 'dump', '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  rep = JSON.parse(r.stdout) as typeof rep;
  assert.is(rep.newInstance, 'Deployment/postgres-v15');
  assert.is(rep.pvc, 'data-postgres-v15');
  assert.is(rep.secret, 'postgres-v15-superuser');
  assert.is(rep.sourcePvc, null);
  assert.ok(rep.fingerprint.equal);
  assert.is(rep.validation.summary.fail, 0);
  // Why it matters, in the report's own words: where the data and the password were, where they are now.
  const why = rep.whyItMatters.join('\n');
  assert.match(
    why,
    "deploy/postgres kept its data in its container's writable layer (no volume at PGDATA): any restart, eviction or reschedule of its pod would have erased it",
  );
  assert.match(why, 'The new instance keeps it on PVC data-postgres-v15');
  assert.match(why, 'deploy/postgres is left running, not scaled to 0');
  assert.match(why, 'had its superuser password written in its manifest (POSTGRES_PASSWORD)');
  assert.match(
    why,
    'Secret postgres-v15-superuser (key password), which this upgrade created. Remove the inline password from your manifests',
  );
  assert.ok(rep.sourceLeftRunning);
  assert.match(
    r.stderr,
    'old instance left running after the cutover: it has no volume',
    'the confirmation says so before anything changes',
  );
  // The new instance: on its PVC, its password from the Secret, none written in its manifest.
  const spec = JSON.parse(
    await kubectl(cp, ['get', 'deploy', 'postgres-v15', '-o', 'jsonpath={.spec.template.spec}']),
  ) as {
    volumes: Array<{ persistentVolumeClaim?: { claimName: string } }>;
    containers: Array<{ env: Array<{ name: string; value?: string; valueFrom?: unknown }> }>;
  };
  assert.equal(
    spec.volumes.map((v) => v.persistentVolumeClaim?.claimName),
    ['data-postgres-v15'],
  );
  assert.is(await kubectl(cp, ['get', 'pvc', 'data-postgres-v15', '-o', 'jsonpath={.status.phase}']), 'Bound');
  const pw = spec.containers[0]?.env.find((e) => e.name === 'POSTGRES_PASSWORD');
  assert.equal(pw, {
    name: 'POSTGRES_PASSWORD',
    valueFrom: { secretKeyRef: { name: 'postgres-v15-superuser', key: 'password' } },
  });
  assert.not.ok(
    (await kubectl(cp, ['get', 'deploy', 'postgres-v15', '-o', 'json'])).includes(PASSWORD),
    'no password in the new manifest',
  );
  const secret = await kubectl(cp, ['get', 'secret', 'postgres-v15-superuser', '-o', 'jsonpath={.data.password}']);
  assert.ok(Buffer.from(secret, 'base64').toString() === PASSWORD, 'the Secret holds the password the server has');
  assert.is(
    await kubectl(cp, [
      'get',
      'secret',
      'postgres-v15-superuser',
      '-o',
      'jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}',
    ]),
    'kubectl-pgupgrade',
  );
  const record = await kubectl(cp, [
    'get',
    'configmap',
    'pgupgrade-dump-postgres',
    '-o',
    'jsonpath={.data.state\\.json}',
  ]);
  assert.not.ok(record.includes(PASSWORD), 'no password in the record');
  const recorded = JSON.parse(record) as { pvc: string; phase: string; target: { secret: string } };
  assert.equal([recorded.pvc, recorded.phase, recorded.target.secret], ['', 'done', 'postgres-v15-superuser']);
  // Cut over; the old instance serves no one but keeps running in the very container that holds its data.
  assert.equal(await selectorOf(cp), { 'pgupgrade.kubectl.io/instance': 'postgres-v15' });
  assert.is(await replicasOf(cp, 'postgres'), 1, 'the old instance is not scaled to 0');
  assert.equal(await podOf(cp, oldPod.name), oldPod, 'the same pod, never restarted');
  const pod = await podName(cp, ns, 'pgupgrade.kubectl.io/instance=postgres-v15');
  const sql = podSql(cp, ns, pod, 'admin');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 15);
  assert.equal(
    compareFingerprints(withoutWrites(before), withoutWrites(await takeFingerprint(sql)), { extensionUpdates: true }),
    ['role admin: password md5 → scram-sha-256'],
    'equal data; the new superuser hashes its password as 15 does',
  );
  const writes = await waitForWrites(cp, ns, { app: APP, major: 15, moreThan: 3 });
  assert.ok((countWrites(writes).byMajor[13] ?? 0) > 10, JSON.stringify(countWrites(writes)));
  await assertWritesPresent(sql, await committedWrites(cp, ns, APP));
});

test('a re-run has nothing to do and neither makes a second Secret nor changes it; validate passes', async () => {
  const { cp } = await sharedEnv();
  const secrets = await secretsOfOurs(cp);
  assert.match(secrets, /^postgres-v15-superuser=\d+ $/);
  const again = await upgradeCli(cp, ['-n', ns, '--to', '15', '--method', 'dump', '-y'], outputs);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, 'nothing to do');
  assert.is(await secretsOfOurs(cp), secrets);
  const v = await runAsync(requireBinary(), ['validate', '-n', ns], { KUBECONFIG: cp.kubeconfig }, 300_000);
  outputs.push(v);
  assert.is(v.code, 0, `${v.stdout}\n${v.stderr}`);
  assert.match(v.stdout + v.stderr, 'postgres-v15');
});

test('--rollback: checked first in the same running container, the Service back, the application writing on 13 again', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', ns, '--rollback', '-y'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, 'since the cutover is lost');
  assert.match(
    r.stdout + r.stderr,
    `The old instance still holds its data: pod ${oldPod.name}, equal to its fingerprint taken by the upgrade`,
  );
  assert.equal(await selectorOf(cp), { 'k8s-app': 'postgres' });
  assert.is(await replicasOf(cp, 'postgres-v15'), 0, 'the new instance is stopped and kept');
  assert.equal(await podOf(cp, oldPod.name), oldPod, 'the old instance never stopped');
  await waitReady(cp, ns, oldPod.name);
  const sql = podSql(cp, ns, oldPod.name, 'admin');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 13);
  assert.equal(
    compareFingerprints(withoutWrites(before), withoutWrites(await takeFingerprint(sql))),
    [],
    "the old instance's data is unchanged",
  );
  const on13 = countWrites(await committedWrites(cp, ns, APP)).byMajor[13] ?? 0;
  await waitForWrites(cp, ns, { app: APP, major: 13, moreThan: on13 + 3 });
  assert.match(
    await secretsOfOurs(cp),
    /^postgres-v15-superuser=\d+ $/,
    'the Secret is kept with the stopped new instance',
  );
});

test('once its container is gone, the old instance cannot be rolled back to: the rollback says so, exit 1, and the new instance keeps serving', async () => {
  const { cp } = await sharedEnv();
  const refused = await upgradeCli(cp, ['-n', ns, '--to', '15', '--method', 'dump', '-y'], outputs);
  const clear = /remove it and its new instance first: kubectl (.*?); nothing was changed/.exec(refused.stderr)?.[1];
  assert.ok(clear?.includes('secret/postgres-v15-superuser'), refused.stderr);
  await cp.kubectl((clear ?? '').split(' '));
  const up = await upgradeCli(cp, ['-n', ns, '--to', '15', '--method', 'dump', '-y'], outputs);
  assert.is(up.code, 0, `${up.stdout}\n${up.stderr}`);
  // The pod goes (an eviction, a node drain): its Deployment starts a new one, whose initdb makes an empty cluster.
  await cp.kubectl(['-n', ns, 'delete', 'pod', oldPod.name]);
  const fresh = await podName(cp, ns, 'k8s-app=postgres');
  assert.is.not(fresh, oldPod.name);
  await waitReady(cp, ns, fresh);
  const rb = await upgradeCli(cp, ['-n', ns, '--rollback', '-y'], outputs);
  assert.is(rb.code, 1, `${rb.stdout}\n${rb.stderr}`);
  assert.match(
    rb.stderr,
    "deploy/postgres kept its data in its container's writable layer, and it differs from its fingerprint taken by the upgrade",
  );
  assert.match(rb.stderr, 'Nothing was changed: the new instance Deployment postgres-v15 keeps serving');
  assert.equal(await selectorOf(cp), { 'pgupgrade.kubectl.io/instance': 'postgres-v15' });
  assert.is(await replicasOf(cp, 'postgres-v15'), 1);
  const on15 = countWrites(await committedWrites(cp, ns, APP)).byMajor[15] ?? 0;
  await waitForWrites(cp, ns, { app: APP, major: 15, moreThan: on15 + 3 });
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 10);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
