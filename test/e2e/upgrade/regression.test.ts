import * as fs from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { execInPod } from '../../support/kube/exec.ts';
import { applyObjects, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { adjustNewDump, adjustOldDump, contentAdjustments, firstDifferences } from '../../support/pg/dump-adjust.ts';
import { takeFingerprint } from '../../support/pg/fingerprint.ts';
import { ensureRegressionDump } from '../../support/pg/regression-db.ts';
import {
  assertNoSecret,
  deployCase,
  upgradeCli,
  user,
  verifyUpgraded,
  type Deployed,
} from '../../support/upgrade-cases.ts';

// Issue 29, part 1: PostgreSQL's own regression database (built from the 13 suite by the project, cached), upgraded
// in place as pg_upgrade's own cross-version test does it: check names what pg_upgrade refuses, those objects are
// dropped (dump-adjust.ts says which and why), and pg_dumpall of the old and the new cluster, taken with the new
// major's client and adjusted as that test adjusts them, is equal; so is the tests' fingerprint.
const test = suite("PostgreSQL's regression database of 13, upgraded in place to 15");
const PASSWORD = 'Regression-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'official 13 → 15, link, the regression database',
  file: 'upgrade',
  flavour: 'official',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('regression'),
  pod: '',
};
const DUMPER = 'dumper';

/** A client pod of the new major, for pg_dumpall through the Service (the password from the Secret). */
const dumper = (ns: string, major: number) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: DUMPER, namespace: ns },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'dump',
        image: `postgres:${major}`,
        command: ['sleep', 'infinity'],
        env: [
          { name: 'PGHOST', value: 'postgres' },
          { name: 'PGUSER', value: 'admin' },
          { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'postgres', key: 'admin-pass' } } },
        ],
      },
    ],
  },
});

/** pg_dumpall of every database but postgres (where the application writes all the time), by the new major's client. */
async function dumpAll(cp: ControlPlane): Promise<string> {
  const r = await execInPod(cp.rest, c.ns, DUMPER, ['pg_dumpall', '--exclude-database=postgres']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /CREATE DATABASE regression /);
  return r.stdout;
}

type Check = { id: string; status: string; found: string; fix?: string };
async function check(cp: ControlPlane): Promise<{ code: number; checks: Check[] }> {
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', c.ns, '--to', String(c.to), '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  return { code: r.code, checks: (JSON.parse(r.stdout || '{"checks":[]}') as { checks: Check[] }).checks };
}

let oldDump = '';

test('set up: the official 13 with its writing application, and the regression database loaded from its cached dump', async () => {
  const { cp } = await sharedEnv();
  const built = await ensureRegressionDump(13);
  await deployCase(cp, c, PASSWORD);
  await applyObjects(cp, [dumper(c.ns, c.to)]);
  const sql = podSql(cp, c.ns, c.pod, user(c));
  await sql('postgres', fs.readFileSync(built.file, 'utf8'));
  const relations = await sql('regression', 'SELECT count(*) FROM pg_catalog.pg_class WHERE oid >= 16384');
  process.stderr.write(`\n  the regression database of ${built.version}: ${relations.trim()} relations`);
  assert.ok(Number(relations) > 1000, relations);
  await waitReady(cp, c.ns, DUMPER);
});

test('check FAILs on what pg_upgrade refuses, naming the objects; with them dropped, it passes', async () => {
  const { cp } = await sharedEnv();
  const before = await check(cp);
  assert.is(before.code, 3, JSON.stringify(before.checks.filter((x) => x.status !== 'pass')));
  const postfix = before.checks.find((x) => x.id === 'postfix-operators');
  assert.is(postfix?.status, 'fail', JSON.stringify(postfix));
  assert.match(postfix?.found ?? '', /regression \(4\): .*public\.#@#\(bigint, NONE\)/);
  const sql = podSql(cp, c.ns, c.pod, user(c));
  for (const [db, statements] of contentAdjustments(c.from, c.to)) await sql(db, `${statements.join(';\n')};`);
  const after = await check(cp);
  assert.equal(
    after.checks.filter((x) => x.status === 'fail'),
    [],
  );
  oldDump = await dumpAll(cp);
  c.before = await takeFingerprint(sql);
});

test('upgrade in place by link: the fingerprints are equal, and so are the adjusted pg_dumpall outputs', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  await verifyUpgraded(cp, c, r, outputs, '0', { keepNamespace: true });
  const diff = firstDifferences(adjustOldDump(oldDump, c.from, c.to), adjustNewDump(await dumpAll(cp), c.from, c.to));
  assert.equal(diff, [], diff.join('\n'));
});

test('no secret in any output or in the audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 3);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
