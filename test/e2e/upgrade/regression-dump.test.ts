import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { podName, podSql, releaseNamespaces } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { assertWritesPresent, committedWrites, withoutWrites } from '../../support/pg/writes.ts';
import { adjustUntilCheckPasses, assertDumpsEqual, deployRegression, dumpAll } from '../../support/regression-case.ts';
import { assertNoSecret, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 29, part 1: the regression database of 13 into a new 15 instance by dump (pg_dump and pg_restore of every
// database, the Service cut over), compared as pg_upgrade's own test compares dumps, then --rollback to the old one.
const test = suite("PostgreSQL's regression database of 13 into a new 15 instance by dump, and back");
const PASSWORD = 'Regression-Dump-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'official 13 → 15 by dump, the regression database',
  file: 'majors',
  flavour: 'official',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('regression-dump'),
  pod: '',
};
let oldDump = '';

test('set up: the official 13 with its writing application, and the regression database loaded from its cached dump', async () => {
  assert.ok((await deployRegression((await sharedEnv()).cp, c, PASSWORD)) > 1000);
});

test('check --method dump FAILs on the postfix operators no 15 can restore; with them dropped, it passes', async () => {
  const { cp } = await sharedEnv();
  await adjustUntilCheckPasses(cp, c, outputs, ['postfix-operators'], 'dump');
  oldDump = await dumpAll(cp, c);
});

test('upgrade --method dump: every write there, equal fingerprints, and the adjusted pg_dumpall outputs equal', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--method', 'dump', '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const pod = await podName(cp, c.ns, 'pgupgrade.kubectl.io/instance=postgres-v15');
  const sql = podSql(cp, c.ns, pod, 'admin');
  const diff = compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(await takeFingerprint(sql)), {
    extensionUpdates: true,
  });
  assert.equal(diff, ['role admin: password md5 → scram-sha-256'], "equal but for the new superuser's password hash");
  await assertWritesPresent(sql, await committedWrites(cp, c.ns, 'postgres-app'));
  assertDumpsEqual(oldDump, await dumpAll(cp, c), c.from, c.to);
});

test('--rollback: the Service back on the old instance, whose dump is as it was', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--method', 'dump', '--rollback', '-y'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assertDumpsEqual(oldDump, await dumpAll(cp, c), c.from, c.from);
});

test('no secret in any output or in the audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 3);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
