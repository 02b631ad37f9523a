import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture, restoredBitnami } from '../../support/fixtures/bitnami.ts';
import { officialFixture, officialSecret } from '../../support/fixtures/official.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  releaseNamespaces,
  waitReady,
} from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { hostileRoleIsSuperuser, plantHostileRole } from '../../support/pg/hostile-role.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import {
  assertWritesPresent,
  committedWrites,
  waitForWrites,
  withoutWrites,
  type Write,
} from '../../support/pg/writes.ts';
import { readFingerprint } from '../../../src/fingerprint/store.ts';
import { keyChecksums } from '../../../src/fingerprint/keyed.ts';
import { waitFor } from '../../support/process.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';

// These fingerprints are small: kept whole in their ConfigMap, no further part to read from a cluster.
const ONE_CONFIGMAP = { readObject: async () => undefined } as never;
const test = suite('kubectl pgupgrade snapshot on real volumes');
const ns = { bitnami: uniqueNamespace('snap-bitnami'), official: uniqueNamespace('snap-official') };
const PASSWORDS = ['Bitnami-Snap-S3cret', 'Official-Snap-S3cret'];
const outputs: RunResult[] = [];
let officialPod = '';

interface Report {
  snapshot: {
    name: string;
    namespace: string;
    workload: string;
    pvc: string;
    pgVersion: string;
    consistency: string;
    readyToUse: boolean;
    cutAt: string | null;
    restoreSizeBytes: number | null;
    fingerprint: string | null;
  };
  verify: {
    ok: boolean;
    against: string;
    differences: string[];
    totals: { rows: number };
    restoredPvc: string;
    pod: string;
  } | null;
}

async function snapshot(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const r = await runAsync(requireBinary(), ['snapshot', ...args], { KUBECONFIG: cp.kubeconfig });
  outputs.push(r);
  return r;
}

async function json<T>(cp: ControlPlane, args: string[]): Promise<T> {
  return JSON.parse((await cp.kubectl(args)).stdout) as T;
}

/** What verify must leave behind: nothing, neither its PVC nor its pod. */
async function leftovers(cp: ControlPlane, namespace: string): Promise<string> {
  return (
    await cp.kubectl([
      '-n',
      namespace,
      'get',
      'pods,pvc',
      '-l',
      'pgupgrade.kubectl.io/role in (snapshot-verify,snapshot-probe)',
      '-o',
      'name',
    ])
  ).stdout.trim();
}

const ODD_DBS = ['host=127.0.0.1 port=5499 dbname=x', 'two\nlines'];

test('set up: a Bitnami StatefulSet in a restricted namespace and an official Deployment, both seeded', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns.bitnami, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await createNamespace(cp, ns.official);
  await applyObjects(cp, bitnamiFixture({ namespace: ns.bitnami, major: 13, password: PASSWORDS[0] as string }));
  await applyObjects(cp, [
    officialSecret(ns.official, PASSWORDS[1] as string),
    ...officialFixture({ namespace: ns.official, major: 13, password: PASSWORDS[1] as string }),
  ]);
  officialPod = await podName(cp, ns.official, 'k8s-app=postgres');
  await waitReady(cp, ns.bitnami, 'circleci-postgresql-0');
  await waitReady(cp, ns.official, officialPod);
  await seedCluster(podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres'), { rows: 300 });
  await seedCluster(podSql(cp, ns.official, officialPod, 'admin'), { rows: 300 });
  // Issue 24: a NOSUPERUSER role's CVE-2018-1058 traps, in both; snapshot's sessions (live and on the copy) must not run them.
  await plantHostileRole(podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres'));
  await plantHostileRole(podSql(cp, ns.official, officialPod, 'admin'));
  await waitForWrites(cp, ns.bitnami, { major: 13, moreThan: 10 });
  // Names that psql would read as a connection string, or that a line-based transport would cut.
  for (const name of ODD_DBS) {
    await podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres')('postgres', `CREATE DATABASE "${name}"`);
    await podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres')(name, 'CREATE TABLE t AS SELECT 1 AS x');
  }
});

/** A StatefulSet `restored-postgresql` on a PVC restored from the snapshot; returns SQL on its pod. */
async function restore(cp: ControlPlane, snapshotName: string): Promise<ReturnType<typeof podSql>> {
  await applyObjects(
    cp,
    restoredBitnami({
      namespace: ns.bitnami,
      release: 'restored',
      major: 13,
      password: PASSWORDS[0] as string,
      snapshot: snapshotName,
    }),
  );
  await waitFor(
    'the restored pod',
    async () =>
      (await cp.kubectl(['-n', ns.bitnami, 'get', 'pod', 'restored-postgresql-0'], { allowFail: true })).code === 0,
    60_000,
  );
  await waitReady(cp, ns.bitnami, 'restored-postgresql-0');
  return podSql(cp, ns.bitnami, 'restored-postgresql-0', 'postgres');
}

/**
 * The tests' own fingerprint keyed as the plugin keys what it keeps (the namespace's key, from Secret
 * pgupgrade-record-key): a kept checksum never is the server's own, which a one-row table's guessed value gives.
 */
async function keyedAs(
  cp: ControlPlane,
  namespace: string,
  stored: Fingerprint,
  theirs: Fingerprint,
): Promise<Fingerprint> {
  for (const [db, d] of Object.entries(stored.perDb)) {
    for (const [t, v] of Object.entries(d.tables))
      assert.match(v.checksum, /^k1:[0-9a-f]{32}$/, `database ${db} table ${t}: the kept checksum is keyed`);
  }
  const key = (
    await cp.kubectl(['-n', namespace, 'get', 'secret', 'pgupgrade-record-key', '-o', 'jsonpath={.data.hmac-key}'])
  ).stdout.trim();
  assert.ok(key, 'the namespace has its key');
  return keyChecksums(theirs, Buffer.from(key, 'base64').toString('utf8'));
}

/**
 * The data first, whatever the plugin's verdict: a copy restored from the snapshot holds every write the
 * application saw committed before the snapshot began and equals the fingerprint kept with it (but for the
 * application's table), and the live database holds every write it saw committed so far.
 */
async function verifyWritesIn(cp: ControlPlane, snap: Report['snapshot'], committedBefore: Write[]): Promise<void> {
  assert.ok(committedBefore.length > 10, 'the application wrote before the snapshot');
  try {
    const copy = await restore(cp, snap.name);
    await assertWritesPresent(copy, committedBefore);
    assert.is(await hostileRoleIsSuperuser(copy), false, 'the snapshot holds mallory as she was: NOSUPERUSER');
    const cm = await json<{ data: Record<string, string> }>(cp, [
      '-n',
      ns.bitnami,
      'get',
      'configmap',
      snap.fingerprint ?? '-',
      '-o',
      'json',
    ]);
    const stored = (await readFingerprint(ONE_CONFIGMAP, cm as never)) as Fingerprint;
    assert.equal(
      compareFingerprints(
        withoutWrites(stored),
        withoutWrites(await keyedAs(cp, ns.bitnami, stored, await takeFingerprint(copy))),
      ),
      [],
    );
  } finally {
    // Gone before the next tests, which let the plugin find the namespace's one PostgreSQL workload.
    await cp.kubectl([
      '-n',
      ns.bitnami,
      'delete',
      'sts/restored-postgresql',
      'pvc/data-restored-postgresql-0',
      '--wait=true',
      '--timeout=60s',
      '--ignore-not-found',
    ]);
  }
  await assertWritesPresent(
    podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres'),
    await committedWrites(cp, ns.bitnami),
  );
  assert.is(
    await hostileRoleIsSuperuser(podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres')),
    false,
    'snapshot --verify never ran her code as superuser on the source',
  );
}

test('a running database: CHECKPOINT, a labelled snapshot, its fingerprint kept, and --verify starts a restored copy that matches', async () => {
  const { cp } = await sharedEnv();
  // The application writes all along: what it saw committed before the snapshot began must be in the snapshot.
  const committedBefore = await committedWrites(cp, ns.bitnami);
  const r = await snapshot(cp, ['-n', ns.bitnami, '--verify', '-o', 'json']);
  assert.ok(r.stdout.trim(), r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  await verifyWritesIn(cp, rep.snapshot, committedBefore);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(rep.snapshot.workload, 'StatefulSet/circleci-postgresql');
  assert.is(rep.snapshot.pvc, 'data-circleci-postgresql-0');
  assert.match(rep.snapshot.pgVersion, /^13\.\d+$/);
  assert.is(rep.snapshot.consistency, 'crash-consistent');
  assert.ok(rep.snapshot.readyToUse && rep.snapshot.cutAt, 'ready and cut');
  assert.ok(rep.verify?.ok, `verify: ${JSON.stringify(rep.verify)}`);
  assert.is(rep.verify?.against, 'fingerprints before and after the cut');
  assert.ok((rep.verify?.totals.rows ?? 0) >= 300, 'the copy holds the seeded rows');

  const vs = await json<{
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    status: { readyToUse: boolean };
  }>(cp, ['-n', ns.bitnami, 'get', 'volumesnapshot', rep.snapshot.name, '-o', 'json']);
  assert.is(vs.status.readyToUse, true);
  assert.is(vs.metadata.labels['app.kubernetes.io/managed-by'], 'kubectl-pgupgrade');
  assert.is(vs.metadata.labels['pgupgrade.kubectl.io/pg-major'], '13');
  assert.is(vs.metadata.labels['pgupgrade.kubectl.io/workload'], 'circleci-postgresql');
  assert.is(vs.metadata.annotations['pgupgrade.kubectl.io/pg-version'], rep.snapshot.pgVersion);
  assert.ok(
    !Number.isNaN(Date.parse(vs.metadata.annotations['pgupgrade.kubectl.io/taken-at'] ?? '')),
    'the time is recorded',
  );

  // The stored fingerprint equals the tests' own, computed query by query through kubectl exec.
  const cm = await json<{
    data: Record<string, string>;
    metadata: { ownerReferences: Array<{ kind: string; name: string }> };
  }>(cp, ['-n', ns.bitnami, 'get', 'configmap', rep.snapshot.fingerprint ?? '-', '-o', 'json']);
  assert.equal(
    cm.metadata.ownerReferences.map((o) => `${o.kind}/${o.name}`),
    [`VolumeSnapshot/${rep.snapshot.name}`],
  );
  const stored = (await readFingerprint(ONE_CONFIGMAP, cm as never)) as Fingerprint;
  // The application's table grew since; it is checked by the journal instead.
  const theirs = await keyedAs(
    cp,
    ns.bitnami,
    stored,
    await takeFingerprint(podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres')),
  );
  assert.equal(compareFingerprints(withoutWrites(theirs), withoutWrites(stored)), []);
  for (const name of ODD_DBS)
    assert.equal(
      stored.perDb[name]?.tables['public.t']?.rows,
      1,
      `database ${JSON.stringify(name)} is fingerprinted like any other`,
    );
  assert.is(await leftovers(cp, ns.bitnami), '', 'the restored PVC and its pod are gone');
});

test("a stopped database: a probe reads pg_controldata, and --verify compares the copy's with it", async () => {
  const { cp } = await sharedEnv();
  await cp.kubectl(['-n', ns.official, 'scale', 'deploy/postgres', '--replicas=0']);
  await waitFor(
    'the database pod to go',
    async () =>
      (await cp.kubectl(['-n', ns.official, 'get', 'pods', '-l', 'k8s-app=postgres', '-o', 'name'])).stdout.trim() ===
      '',
    60_000,
  );
  const r = await snapshot(cp, ['-n', ns.official, 'deploy/postgres', '--verify', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.is(rep.snapshot.consistency, 'stopped');
  assert.is(rep.snapshot.pgVersion, '13');
  assert.ok(rep.verify?.ok, JSON.stringify(rep.verify));
  assert.is(rep.verify?.against, 'pg_controldata of the stopped cluster');
  assert.ok(rep.snapshot.fingerprint, "the copy's fingerprint is kept");
  assert.is(await leftovers(cp, ns.official), '');
  await cp.kubectl(['-n', ns.official, 'scale', 'deploy/postgres', '--replicas=1']);
  officialPod = await podName(cp, ns.official, 'k8s-app=postgres');
  await waitReady(cp, ns.official, officialPod);
  // The fingerprint of the copy is the database's: the data came back unchanged after the scale-up.
  const cm = await json<{ data: Record<string, string> }>(cp, [
    '-n',
    ns.official,
    'get',
    'configmap',
    rep.snapshot.fingerprint ?? '-',
    '-o',
    'json',
  ]);
  const stored = (await readFingerprint(ONE_CONFIGMAP, cm as never)) as Fingerprint;
  assert.equal(
    compareFingerprints(
      stored,
      await keyedAs(cp, ns.official, stored, await takeFingerprint(podSql(cp, ns.official, officialPod, 'admin'))),
    ),
    [],
  );
  assert.is(
    await hostileRoleIsSuperuser(podSql(cp, ns.official, officialPod, 'admin')),
    false,
    'the stopped cluster, verified through a copy, still has mallory NOSUPERUSER',
  );
});

test('--no-wait returns once the snapshot is cut; --list shows every snapshot, as text and JSON', async () => {
  const { cp } = await sharedEnv();
  const r = await snapshot(cp, ['-n', ns.bitnami, 'sts/circleci-postgresql', '--no-wait', '-o', 'json']);
  assert.is(r.code, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as Report).snapshot.cutAt, 'cut');
  const list = await snapshot(cp, ['-n', ns.bitnami, '--list', '-o', 'json']);
  assert.is(list.code, 0, list.stderr);
  const items = JSON.parse(list.stdout) as Array<Report['snapshot']>;
  assert.is(items.length, 2);
  assert.ok(
    items.every((i) => i.workload === 'StatefulSet/circleci-postgresql' && i.pvc === 'data-circleci-postgresql-0'),
  );
  assert.is(items.filter((i) => i.fingerprint).length, 1, 'only the verified one has a fingerprint');
  const text = await snapshot(cp, ['-n', ns.bitnami, '--list']);
  assert.is(text.code, 0);
  assert.match(text.stdout, /^NAME\s+WORKLOAD\s+PVC\s+POSTGRESQL/);
  for (const i of items) assert.match(text.stdout, i.name);
});

test('bad input exits 2 and creates nothing', async () => {
  const { cp } = await sharedEnv();
  const count = async () =>
    (await cp.kubectl(['-n', ns.bitnami, 'get', 'volumesnapshots', '-o', 'name'])).stdout.trim().split('\n').length;
  const before = await count();
  const cases: Array<[string[], RegExp]> = [
    [['-n', ns.bitnami, 'sts/nope'], /no StatefulSet named nope in namespace .*circleci-postgresql/],
    [['-n', ns.bitnami, '--snapshot-class', 'nope'], /VolumeSnapshotClass nope does not exist/],
    [['-n', ns.bitnami, '--list', '--verify'], /--list and --verify/],
    [['-n', 'no-such-namespace'], /namespace no-such-namespace not found/],
    [['-n', ns.bitnami, '--timeout', '0'], /--timeout 0/],
  ];
  for (const [args, msg] of cases) {
    const r = await snapshot(cp, args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
  }
  assert.is(await count(), before);
});

test('Ctrl-C during --verify deletes the restored PVC and its pod, and exits 130', async () => {
  const { cp } = await sharedEnv();
  const child = spawn(requireBinary(), ['snapshot', '-n', ns.bitnami, '--verify'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: cp.kubeconfig },
  });
  let out = '';
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  // SIGINT the moment the verify step starts, while its PVC is being created: the worst time for a clean-up.
  const verifying = new Promise<void>((res) => {
    const seen = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Verify: restore')) res();
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
  });
  await Promise.race([
    verifying,
    exited.then(() => Promise.reject(new Error(`snapshot ended before its verify step:\n${out}`))),
  ]);
  child.kill('SIGINT');
  assert.is(await exited, 130, out);
  await waitFor('the restored PVC and pod to be deleted', async () => (await leftovers(cp, ns.bitnami)) === '', 30_000);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  const { cp } = await sharedEnv();
  assert.ok(outputs.length >= 8);
  for (const r of outputs)
    for (const p of PASSWORDS)
      assert.not.ok(r.stdout.includes(p) || r.stderr.includes(p), 'a password leaked into the output');
  const audit = fs.readFileSync(cp.auditLog, 'utf8');
  for (const p of PASSWORDS)
    assert.not.ok(audit.includes(p) || audit.includes(encodeURIComponent(p)), 'a password reached the audit log');
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
