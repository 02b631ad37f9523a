import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireBinary, runAsync } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { applyObjects, createNamespace, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import {
  assertWritesPresent,
  committedWrites,
  countWrites,
  journalDir,
  waitForWrites,
  withoutWrites,
} from '../../support/pg/writes.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { waitFor } from '../../support/process.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';

const test = suite(
  'the writing application: it writes through the Service, journals what it saw committed, and survives its database going away',
);
const ns = uniqueNamespace('writer');
const DB = 'circleci-postgresql-0';
const APP = 'circleci-frontend';
const PASSWORD = 'Writer-E2E-S3cret';

const appPods = async (cp: ControlPlane) =>
  (await cp.kubectl(['-n', ns, 'get', 'pods', '-l', `app=${APP}`, '-o', 'name'])).stdout.trim();

async function scale(cp: ControlPlane, what: string, replicas: number): Promise<void> {
  await cp.kubectl(['-n', ns, 'scale', what, `--replicas=${replicas}`]);
}

test('two replicas in a restricted namespace write every 0.2 s; every journaled write is in the table', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await applyObjects(cp, bitnamiFixture({ namespace: ns, major: 13, password: PASSWORD, appReplicas: 2 }));
  await waitReady(cp, ns, DB);
  const writes = await waitForWrites(cp, ns, { moreThan: 20, major: 13 });
  assert.is(new Set(writes.map((w) => w.pod)).size, 2, 'both replicas write');
  const r = await assertWritesPresent(podSql(cp, ns, DB, 'postgres'), writes);
  assert.is(r.present, r.committed);
  const logs = (await cp.kubectl(['-n', ns, 'logs', `deploy/${APP}`])).stdout;
  assert.match(logs, `through ${'circleci-postgresql'} every 0.2 s`);
  assert.not.match(logs, PASSWORD);
  const dir = await journalDir(async (a) => (await cp.kubectl(a)).stdout, path.join(cp.dir, 'node'), ns, APP);
  assert.ok(
    fs.readdirSync(dir).every((f) => fs.statSync(path.join(dir, f)).uid === 1000),
    'the journal is written as the non-root UID',
  );
});

test('check passes with the application connected, and names it', async () => {
  const { cp } = await sharedEnv();
  const r = await runAsync(requireBinary(), ['check', '-n', ns, '--to', '15'], { KUBECONFIG: cp.kubeconfig });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, 'applications  deploy/circleci-frontend');
});

test('scaled to 0, the application stops on SIGTERM within its grace period; scaled back, it writes again, nothing lost', async () => {
  const { cp } = await sharedEnv();
  await scale(cp, `deploy/${APP}`, 0);
  const t = Date.now();
  await waitFor('the application pods to go', async () => (await appPods(cp)) === '', 30_000);
  assert.ok(
    Date.now() - t < 9_000,
    `the writer stopped on SIGTERM, not SIGKILL after the 10 s grace (${Date.now() - t} ms)`,
  );
  const stopped = await committedWrites(cp, ns);
  await new Promise((r) => setTimeout(r, 1500));
  assert.is(
    (await committedWrites(cp, ns)).length,
    stopped.length,
    'no writes while scaled to 0: the journal outlives the pods',
  );
  await scale(cp, `deploy/${APP}`, 2);
  const again = await waitForWrites(cp, ns, { moreThan: stopped.length + 10 });
  await assertWritesPresent(podSql(cp, ns, DB, 'postgres'), again);
});

test('the database goes away and comes back: the application reconnects by itself; the fingerprint without its table is unchanged', async () => {
  const { cp } = await sharedEnv();
  const sql = podSql(cp, ns, DB, 'postgres');
  const before = await takeFingerprint(sql);
  await scale(cp, 'sts/circleci-postgresql', 0);
  await cp.kubectl(['-n', ns, 'wait', '--for=delete', `pod/${DB}`, '--timeout=60s']);
  const down = await committedWrites(cp, ns);
  await new Promise((r) => setTimeout(r, 2000));
  assert.is((await committedWrites(cp, ns)).length, down.length, 'nothing is journaled while the database is down');
  await scale(cp, 'sts/circleci-postgresql', 1);
  await waitFor(
    'the database pod',
    async () => (await cp.kubectl(['-n', ns, 'get', 'pod', DB], { allowFail: true })).code === 0,
    30_000,
  );
  await waitReady(cp, ns, DB);
  const after = await waitForWrites(cp, ns, { moreThan: down.length + 10 });
  const check = await assertWritesPresent(sql, after);
  assert.is(check.present, check.committed);
  await waitFor(
    'the application to say it reconnected',
    async () =>
      /reconnected after \d+ failed attempts/.test(
        (await cp.kubectl(['-n', ns, 'logs', `deploy/${APP}`], { allowFail: true })).stdout,
      ),
    60_000,
  );
  assert.equal(compareFingerprints(withoutWrites(before), withoutWrites(await takeFingerprint(sql))), []);
  assert.not.equal(
    compareFingerprints(before, await takeFingerprint(sql)),
    [],
    'the whole fingerprint does differ: the application wrote',
  );
  process.stderr.write(`\n  writer: ${JSON.stringify(countWrites(after))}\n`);
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
