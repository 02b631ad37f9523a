import * as fs from 'node:fs';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from './cli/binary.ts';
import type { ControlPlane } from './k8s/control-plane.ts';
import { execInPod } from './kube/exec.ts';
import { applyObjects, podSql, waitReady } from './kube/helpers.ts';
import { adjustNewDump, adjustOldDump, contentAdjustments, firstDifferences } from './pg/dump-adjust.ts';
import { takeFingerprint } from './pg/fingerprint.ts';
import type { RegressMajor } from './pg/regress-suite.ts';
import { ensureRegressionDump } from './pg/regression-db.ts';
import { deployCase, upgradeCli, user, verifyUpgraded, type Deployed } from './upgrade-cases.ts';

// The regression database's e2e cases (issue 29, part 1): the official Deployment of the source major, its
// application writing, the regression database of that major loaded from its cached dump, and a client pod of the
// target major for pg_dumpall, as PostgreSQL's own cross-version test takes both dumps with the new major's client.

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

/** The case deployed and seeded, the regression database loaded into it, the dumper Ready; returns its relations. */
export async function deployRegression(cp: ControlPlane, c: Deployed, password: string): Promise<number> {
  const built = await ensureRegressionDump(c.from as RegressMajor);
  await deployCase(cp, c, password);
  await applyObjects(cp, [dumper(c.ns, c.to)]);
  const sql = podSql(cp, c.ns, c.pod, user(c));
  await sql('postgres', fs.readFileSync(built.file, 'utf8'));
  const relations = Number(await sql('regression', 'SELECT count(*) FROM pg_catalog.pg_class WHERE oid >= 16384'));
  process.stderr.write(`\n  ${c.ns}: the regression database of ${built.version}, ${relations} relations`);
  await waitReady(cp, c.ns, DUMPER);
  return relations;
}

/**
 * pg_dumpall of every database but postgres (where the application writes all the time), by the new major's
 * client, without the roles' password hashes (a log is no place for them; the dump method's new superuser has a
 * SCRAM one by design).
 */
export async function dumpAll(cp: ControlPlane, c: Deployed): Promise<string> {
  const dump = () =>
    execInPod(cp.rest, c.ns, DUMPER, ['pg_dumpall', '--no-role-passwords', '--exclude-database=postgres']);
  let r = await dump();
  // The Service's name, just after the server behind it restarted, can fail to resolve for a moment on a loaded
  // node (seen once: "Temporary failure in name resolution"): that is the network's, not the dump's, so ask again.
  for (let i = 0; i < 5 && r.code !== 0 && /could not translate host name|Connection refused/.test(r.stderr); i++) {
    await new Promise((res) => setTimeout(res, 2000));
    r = await dump();
  }
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /CREATE DATABASE regression /);
  return r.stdout;
}

export type Check = { id: string; status: string; found: string; fix?: string };

/** `check` of the case's pair, as JSON. */
export async function checkJson(
  cp: ControlPlane,
  c: Deployed,
  outputs: RunResult[],
  method?: 'dump',
): Promise<{ code: number; checks: Check[] }> {
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', c.ns, '--to', String(c.to), ...(method ? ['--method', method] : []), '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  return { code: r.code, checks: (JSON.parse(r.stdout || '{"checks":[]}') as { checks: Check[] }).checks };
}

/**
 * check FAILs on exactly the findings `failing` (what pg_upgrade refuses in this database), the adjustments of
 * the pair drop those objects, and check passes with no failure; the case's fingerprint is taken then. Returns
 * the findings that failed first.
 */
export async function adjustUntilCheckPasses(
  cp: ControlPlane,
  c: Deployed,
  outputs: RunResult[],
  failing: string[],
  method?: 'dump',
): Promise<Check[]> {
  const before = await checkJson(cp, c, outputs, method);
  const failed = before.checks.filter((x) => x.status === 'fail');
  assert.equal(failed.map((x) => x.id).sort(), [...failing].sort(), JSON.stringify(failed));
  if (failing.length > 0) assert.is(before.code, 3);
  const sql = podSql(cp, c.ns, c.pod, user(c));
  for (const [db, statements] of contentAdjustments(c.from, c.to)) await sql(db, `${statements.join(';\n')};`);
  const after = await checkJson(cp, c, outputs, method);
  assert.equal(
    after.checks.filter((x) => x.status === 'fail'),
    [],
  );
  c.before = await takeFingerprint(sql);
  return failed;
}

/** The old cluster's dump against the new one's, each adjusted for the pair: equal, or the diff says where not. */
export function assertDumpsEqual(oldDump: string, newDump: string, from: number, to: number): void {
  const diff = firstDifferences(adjustOldDump(oldDump, from, to), adjustNewDump(newDump, from, to));
  assert.equal(diff, [], diff.join('\n'));
}

/** The upgrade in place by the case's method, verified as every in-place case is, then the dumps compared. */
export async function upgradeInPlaceAndCompare(
  cp: ControlPlane,
  c: Deployed,
  outputs: RunResult[],
  oldDump: string,
): Promise<void> {
  const args = ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y', '-o', 'json'];
  await verifyUpgraded(cp, c, await upgradeCli(cp, args, outputs), outputs, '0', { keepNamespace: true });
  assertDumpsEqual(oldDump, await dumpAll(cp, c), c.from, c.to);
}
