import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { officialFixture, officialSecret } from '../../support/fixtures/official.ts';
import { applyObjects, createNamespace, podName, podSql, releaseNamespaces, resourceVersions, waitReady } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { assertWritesPresent, committedWrites, countWrites, waitForWrites, withoutWrites } from '../../support/pg/writes.ts';
import { clearPg17Attver } from '../../support/pg/upgrade.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { waitFor } from '../../support/process.ts';

const test = suite('kubectl pgupgrade upgrade in place, on real PostgreSQL pods');
const PASSWORD = 'Upgrade-E2E-S3cret';
const outputs: RunResult[] = [];

interface Case {
  name: string;
  flavour: 'bitnami' | 'official';
  from: number;
  to: number;
  method: 'link' | 'copy' | 'swap' | 'clone';
  storageClassName?: string;
  flags?: string[];
  checksums?: boolean;
  ns: string;
  pod: string;
  before?: Fingerprint;
}

const CASES: Case[] = ([
  { name: 'Bitnami 13 → 15, link', flavour: 'bitnami', from: 13, to: 15, method: 'link' },
  { name: 'Bitnami 15 → 17, copy', flavour: 'bitnami', from: 15, to: 17, method: 'copy' },
  { name: 'Bitnami 17 → 18, link, data checksums on', flavour: 'bitnami', from: 17, to: 18, method: 'link', checksums: true },
  { name: 'Bitnami 17 → 18, swap, data checksums on', flavour: 'bitnami', from: 17, to: 18, method: 'swap', checksums: true },
  { name: 'Bitnami 13 → 17 directly, link', flavour: 'bitnami', from: 13, to: 17, method: 'link' },
  { name: 'official postgres Deployment of seed 000, 13 → 15, link', flavour: 'official', from: 13, to: 15, method: 'link' },
  { name: 'Bitnami 13 → 15, link, --verify-while-apps-start', flavour: 'bitnami', from: 13, to: 15, method: 'link', flags: ['--verify-while-apps-start'] },
  { name: 'Bitnami 13 → 15, clone, on the XFS (reflink) StorageClass local-xfs', flavour: 'bitnami', from: 13, to: 15, method: 'clone', storageClassName: 'local-xfs' },
] as Array<Omit<Case, 'ns' | 'pod'>>).map((c, i) => ({ ...c, ns: uniqueNamespace(`up-${i}-${c.flavour}`), pod: '' }));

const HOSTILE_DB = 'host=127.0.0.1 port=5499 dbname=x';
const user = (c: Case) => (c.flavour === 'bitnami' ? 'postgres' : 'admin');
const app = (c: Case) => (c.flavour === 'bitnami' ? 'circleci-frontend' : 'postgres-app');
const selector = (c: Case) => (c.flavour === 'bitnami' ? 'app.kubernetes.io/name=postgresql' : 'k8s-app=postgres');

async function upgrade(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const r = await runAsync(requireBinary(), ['upgrade', ...args], { KUBECONFIG: cp.kubeconfig }, 300_000);
  outputs.push(r);
  return r;
}

async function deploy(cp: ControlPlane, c: Case): Promise<void> {
  await createNamespace(cp, c.ns, c.flavour === 'bitnami' ? { 'pod-security.kubernetes.io/enforce': 'restricted' } : {});
  if (c.flavour === 'bitnami') {
    await applyObjects(cp, bitnamiFixture({ namespace: c.ns, major: c.from, password: PASSWORD, appReplicas: 2, initdbArgs: c.checksums ? '--data-checksums' : undefined,
      storageClassName: c.storageClassName }));
  } else {
    await applyObjects(cp, [officialSecret(c.ns, PASSWORD), ...officialFixture({ namespace: c.ns, major: c.from, password: PASSWORD, appReplicas: 1 })]);
  }
  c.pod = await podName(cp, c.ns, selector(c));
  await waitReady(cp, c.ns, c.pod);
  await seedCluster(podSql(cp, c.ns, c.pod, user(c)), { rows: 200 });
  // A name that psql would read as a connection string (to a port where nothing listens in the pod): the upgrade's
  // fingerprint must read it as a database like any other. (A name with a newline is refused by pg_upgrade
  // itself, so check fails it: see the check e2e.)
  await podSql(cp, c.ns, c.pod, user(c))('postgres', `CREATE DATABASE "${HOSTILE_DB}"`);
  await podSql(cp, c.ns, c.pod, user(c))(HOSTILE_DB, 'CREATE TABLE t AS SELECT 1 AS x');
  // A test-environment artefact, not the users' world: Debian trixie's 17 tags columns with pg_attver, which 18
  // rejects (README, "Things found"); check reports it as a failure, so the 17 clusters are cleared first.
  if (c.from === 17 && c.to >= 18) await clearPg17Attver(podSql(cp, c.ns, c.pod, user(c)), ['postgres', 'template1', 'app1', 'app2', HOSTILE_DB]);
  c.before = await takeFingerprint(podSql(cp, c.ns, c.pod, user(c)));
  await waitForWrites(cp, c.ns, { app: app(c), major: c.from, moreThan: 10 });
}

test('set up: eight databases, seeded and fingerprinted', async () => {
  const { cp, agent } = await sharedEnv();
  // Where the machine cannot mount an XFS loop filesystem there is no reflink class: the clone case then runs on
  // local-path and must be refused with the reason (below), and the log says why.
  if (!('storageClass' in agent.reflink)) {
    process.stderr.write(`\n  no reflink StorageClass here (${agent.reflink.reason}): the clone case checks the refusal instead\n`);
    for (const c of CASES) if (c.method === 'clone') c.storageClassName = undefined;
  }
  await Promise.all(CASES.map((c) => deploy(cp, c)));
  assert.is(CASES.length, 8);
  assert.ok(CASES.every((c) => c.before && Object.keys(c.before.perDb).length >= 4));
});

test('--dry-run prints the Job, the snapshot and every patch in order, and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const c = CASES[0] as Case;
  const before = await resourceVersions(cp, c.ns);
  const r = await upgrade(cp, ['-n', c.ns, '--to', '15', '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  const steps = [...r.stdout.matchAll(/^step: (.*)$/gm)].map((m) => m[1]);
  assert.equal(steps, ['record of the upgrade, updated after each phase', 'scale the application down', 'stop the database', 'snapshot of the stopped data volume',
    'while the Job runs, the snapshot restored to a temporary PVC, read by a throwaway pod, both deleted',
    'reference fingerprint, read from the snapshot', 'the upgrade Job', 'point the workload at the new major', 'start the database', 'scale the application back up']);
  assert.match(r.stdout, 'kind: Job');
  assert.match(r.stdout, 'runAsNonRoot: true');
  assert.match(r.stdout, 'image: tianon/postgres-upgrade:13-to-15');
  assert.match(r.stdout, 'image: bitnami/postgresql:15');
  assert.not.match(r.stdout + r.stderr, PASSWORD);
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('bad input exits 2 and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const c = CASES[0] as Case;
  const before = await resourceVersions(cp, c.ns);
  const cases: Array<[string[], RegExp]> = [
    [['-n', c.ns, '--to', '13', '-y'], /--to 13|not greater|is not above|must be above/],
    [['-n', c.ns, '--to', '15', '--method', 'rsync', '-y'], /Invalid values|method/],
    [['-n', c.ns, 'deploy/circleci-frontend', '--to', '15', '-y'], /does not run PostgreSQL/],
    [['-n', c.ns, '--to', '15', '--method', 'clone', '-y'], /--method clone needs a filesystem that can clone/],
    [['-n', c.ns, '--to', '15', '--image', 'x', '--method', 'swap', '-y'], /--method swap needs --to 18/],
    [['-n', c.ns, '--to', '15'], /confirm with -y/],
    [['-n', c.ns, '--to', '17', '--image', 'bitnami/postgresql:16', '-y'], /--image bitnami\/postgresql:16 runs PostgreSQL 16 \(its tag says so\), but --to is 17/],
    [['-n', c.ns, '--to', '15', '--image', 'bitnami/postgresql:15 --debug', '-y'], /--image "bitnami\/postgresql:15 --debug": an image reference holds no spaces/],
    [['-n', c.ns, '--to', '15', '--job-image', 'tianon/postgres-upgrade:14-to-15', '-y'], /--job-image .* upgrades 14 to 15 .* from 13 to 15/],
    [['-n', c.ns, '--to', '15', '--app-selector', '', '-y'], /--app-selector "": an empty selector matches every workload/],
    [['-n', c.ns, '--to', '15', '--app-selector', 'tier!=db', '-y'], /"tier!=db" is not an equality term/],
  ];
  for (const [args, msg] of cases) {
    const r = await upgrade(cp, args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('a vendor image without --image, and a volume that is not ReadWriteOnce, are refused before any downtime', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('up-vendor');
  await createNamespace(cp, ns);
  const objs = [officialSecret(ns, PASSWORD), ...officialFixture({ namespace: ns, major: 13, password: PASSWORD })];
  const dep = objs.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
  (dep.spec.template.spec.containers[0] as { image: string }).image = 'registry.example.com/acme/acme-postgres:13';
  (dep as unknown as { metadata: { labels?: Record<string, string> } }).metadata.labels = { 'app.kubernetes.io/name': 'postgresql' };
  await applyObjects(cp, objs);
  const r = await upgrade(cp, ['-n', ns, '--to', '15', '-y']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /pass --image .* or --no-patch-workload/);
  const ns2 = uniqueNamespace('up-rwx');
  await createNamespace(cp, ns2);
  const objs2 = [officialSecret(ns2, PASSWORD), ...officialFixture({ namespace: ns2, major: 13, password: PASSWORD })];
  (objs2.find((o) => o.kind === 'PersistentVolumeClaim') as { spec: { accessModes: string[] } }).spec.accessModes = ['ReadWriteMany'];
  await applyObjects(cp, objs2);
  await waitReady(cp, ns2, await podName(cp, ns2, 'k8s-app=postgres'));
  const before = await resourceVersions(cp, ns2);
  const r2 = await upgrade(cp, ['-n', ns2, '--to', '15', '-y']);
  assert.is(r2.code, 2, r2.stdout + r2.stderr);
  assert.match(r2.stderr, /not ReadWriteOnce/);
  assert.is(await resourceVersions(cp, ns2), before);
});

test('a StatefulSet of two replicas is refused before any downtime: exit 2, nothing changed', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('up-replicas');
  await createNamespace(cp, ns);
  const objs = bitnamiFixture({ namespace: ns, major: 13, password: PASSWORD });
  (objs.find((o) => o.kind === 'StatefulSet') as { spec: { replicas: number } }).spec.replicas = 2;
  await applyObjects(cp, objs);
  for (const pod of ['circleci-postgresql-0', 'circleci-postgresql-1']) {
    await waitFor(`pod ${pod}`, async () => (await cp.kubectl(['-n', ns, 'get', 'pod', pod], { allowFail: true })).code === 0, 60_000);
    await waitReady(cp, ns, pod);
  }
  const before = await resourceVersions(cp, ns);
  const r = await upgrade(cp, ['-n', ns, '--to', '15', '-y']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /has 2 replicas, each with its own PVC/);
  assert.is(await resourceVersions(cp, ns), before);
});

for (const c of CASES) {
  test(`${c.name}: the new major runs, the data is equal, the apps are back, the snapshot exists`, async () => {
    const { cp } = await sharedEnv();
    // A database that restarted before the upgrade ran crash recovery, which moves sequences ahead of the
    // fingerprint taken at set-up: say so in a failure, so that it is not taken for the upgrade's doing.
    const restarts = (await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])).stdout.trim();
    const r = await upgrade(cp, ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y', '-o', 'json', ...(c.flags ?? [])]);
    if (c.method === 'clone' && !c.storageClassName) {
      assert.is(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, '--method clone needs a filesystem that can clone files');
      return;
    }
    assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const rep = JSON.parse(r.stdout) as { to: number; snapshot: string; fingerprint: { equal: boolean }; timingsMs: Record<string, number>; oldClusterKeptAt: string };
    assert.is(rep.to, c.to);
    assert.ok(rep.fingerprint.equal);
    const pod = await podName(cp, c.ns, selector(c));
    const sql = podSql(cp, c.ns, pod, user(c));
    assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), c.to, 'the server runs the target major');
    // The tests' own fingerprint, computed query by query, not the plugin's; the application's table, which grows
    // all along, is checked by its journal instead: it wrote before, writes again on the new major, and every
    // write it saw committed is there.
    // update_extensions.sql has moved extensions to the new major's versions, as it should: they must all still be there.
    assert.equal(compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(await takeFingerprint(sql)), { extensionUpdates: true }), [],
      `the database had restarted ${restarts} times before the upgrade`);
    const writes = await waitForWrites(cp, c.ns, { app: app(c), major: c.to, moreThan: 5 });
    assert.ok((countWrites(writes).byMajor[c.from] ?? 0) > 10, `the application wrote on ${c.from}: ${JSON.stringify(countWrites(writes))}`);
    await assertWritesPresent(sql, await committedWrites(cp, c.ns, app(c)));
    if (c.checksums) assert.is((await sql('postgres', 'show data_checksums')).trim(), 'on');
    const vs = JSON.parse((await cp.kubectl(['-n', c.ns, 'get', 'volumesnapshot', rep.snapshot, '-o', 'json'])).stdout) as { status: { readyToUse: boolean } };
    assert.is(vs.status.readyToUse, true);
    if (c.flavour === 'bitnami') {
      const app = JSON.parse((await cp.kubectl(['-n', c.ns, 'get', 'deploy', 'circleci-frontend', '-o', 'json'])).stdout) as { spec: { replicas: number }; status: { readyReplicas: number } };
      assert.is(app.spec.replicas, 2);
      assert.is(app.status.readyReplicas, 2);
    }
    const kept = await cp.kubectl(['-n', c.ns, 'exec', pod, '--', 'cat', `${rep.oldClusterKeptAt}/PG_VERSION`], { allowFail: true });
    assert.is(kept.stdout.trim(), String(c.from), 'the old cluster is kept beside the new one');
    const state = JSON.parse((await cp.kubectl(['-n', c.ns, 'get', 'configmap', '-l', 'pgupgrade.kubectl.io/role=upgrade-state', '-o', 'jsonpath={.items[0].data.state\\.json}'])).stdout) as { phase: string };
    assert.is(state.phase, 'done');
    const again = await upgrade(cp, ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y']);
    assert.is(again.code, 0, 'a re-run of a finished upgrade is nothing to do');
    assert.match(again.stderr, 'nothing to do');
    assert.ok(rep.timingsMs.downtime && rep.timingsMs.downtime > 0);
    await releaseNamespaces(cp, [c.ns]);
  });
}

test('no secret value appears in any output or in the apiserver audit log', async () => {
  const { cp } = await sharedEnv();
  assert.ok(outputs.length >= 10);
  for (const r of outputs) assert.not.ok(r.stdout.includes(PASSWORD) || r.stderr.includes(PASSWORD), 'the password leaked into the output');
  const audit = fs.readFileSync(cp.auditLog, 'utf8');
  assert.not.ok(audit.includes(PASSWORD) || audit.includes(encodeURIComponent(PASSWORD)), 'the password reached the audit log');
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
