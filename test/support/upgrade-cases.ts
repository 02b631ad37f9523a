import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { requireBinary, runAsync, type RunResult } from './cli/binary.ts';
import { uniqueNamespace } from './cluster.ts';
import { bitnamiFixture } from './fixtures/bitnami.ts';
import { officialFixture, officialSecret } from './fixtures/official.ts';
import type { ControlPlane } from './k8s/control-plane.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  recordedState,
  releaseNamespaces,
  waitReady,
} from './kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from './pg/fingerprint.ts';
import { hostileRoleIsSuperuser, plantHostileRole } from './pg/hostile-role.ts';
import { seedCluster } from './pg/seed.ts';
import { clearPg17Attver } from './pg/upgrade.ts';
import { assertWritesPresent, committedWrites, countWrites, waitForWrites, withoutWrites } from './pg/writes.ts';

/**
 * The in-place upgrades that the e2e tests run through the binary, one database each. The README's table of
 * supported pairs is made from this list (scripts/lib/majors-table.ts): a pair is "e2e" there only if it is here.
 */
export interface UpgradeCase {
  name: string;
  /** The e2e file that runs it (vendor.test.ts keeps its case to itself: UPGRADE_CASES make the README's table). */
  file: 'upgrade' | 'majors' | 'vendor' | 'layout';
  flavour: 'bitnami' | 'official';
  from: number;
  to: number;
  method: 'link' | 'copy' | 'swap' | 'clone';
  storageClassName?: string;
  flags?: string[];
  checksums?: boolean;
  /** CircleCI Server's shape: StatefulSet `postgresql` of Helm release `circleci-server`. */
  circleci?: boolean;
  /** The database is scaled to 0 before the upgrade (test/e2e/upgrade/stopped.test.ts). */
  stopped?: boolean;
  /** The database's image, when not the flavour's own (a vendor's, mapped to a layout by PGUPGRADE_TEST_IMAGE_MAP). */
  image?: string;
  /** The superuser, when not the fixture's own (postgres for Bitnami, admin for the official image). */
  superuser?: string;
  /** Objects of the case's own shape, applied instead of the flavour's fixture (its Secret included). */
  objects?: (ns: string, password: string) => Array<Record<string, unknown>>;
}

/** The vendor image of the seed (circleci-pg-upgrade.md). */
export const CIRCLECI_14 = 'cciserver.azurecr.io/circleci/server-postgres:14.22.4094-4922444';

/**
 * Bitnami publishes no free image of 18 (bitnamilegacy/postgresql is frozen at 17), so a Bitnami source going to
 * 18 names its image, as a user must: one of Bitnami's own 18 builds.
 */
export const BITNAMI_18 = 'docker.io/bitnami/postgresql:18.1.0-debian-12-r4';

export const UPGRADE_CASES: UpgradeCase[] = [
  { name: 'Bitnami 13 → 15, link', file: 'upgrade', flavour: 'bitnami', from: 13, to: 15, method: 'link' },
  { name: 'Bitnami 15 → 17, copy', file: 'upgrade', flavour: 'bitnami', from: 15, to: 17, method: 'copy' },
  {
    name: 'Bitnami 17 → 18, link, data checksums on',
    file: 'upgrade',
    flavour: 'bitnami',
    from: 17,
    to: 18,
    method: 'link',
    checksums: true,
    flags: ['--image', BITNAMI_18],
  },
  {
    name: 'Bitnami 17 → 18, swap, data checksums on',
    file: 'upgrade',
    flavour: 'bitnami',
    from: 17,
    to: 18,
    method: 'swap',
    checksums: true,
    flags: ['--image', BITNAMI_18],
  },
  { name: 'Bitnami 13 → 17 directly, link', file: 'upgrade', flavour: 'bitnami', from: 13, to: 17, method: 'link' },
  {
    name: 'official postgres Deployment, 13 → 15, link',
    file: 'upgrade',
    flavour: 'official',
    from: 13,
    to: 15,
    method: 'link',
  },
  {
    name: 'Bitnami 13 → 15, link, --full-verify',
    file: 'upgrade',
    flavour: 'bitnami',
    from: 13,
    to: 15,
    method: 'link',
    flags: ['--full-verify'],
  },
  {
    name: 'Bitnami 13 → 15, clone, on the XFS (reflink) StorageClass local-xfs',
    file: 'upgrade',
    flavour: 'bitnami',
    from: 13,
    to: 15,
    method: 'clone',
    storageClassName: 'local-xfs',
  },
  {
    name: "CircleCI Server 12 → 14, link, into the vendor's image (the seed's own case)",
    file: 'majors',
    flavour: 'bitnami',
    from: 12,
    to: 14,
    method: 'link',
    circleci: true,
    flags: ['--image', CIRCLECI_14],
  },
  { name: 'Bitnami 12 → 16, copy', file: 'majors', flavour: 'bitnami', from: 12, to: 16, method: 'copy' },
  { name: 'Bitnami 12 → 17, link', file: 'majors', flavour: 'bitnami', from: 12, to: 17, method: 'link' },
  {
    name: 'Bitnami 14 → 18, link',
    file: 'majors',
    flavour: 'bitnami',
    from: 14,
    to: 18,
    method: 'link',
    flags: ['--image', BITNAMI_18],
  },
  {
    name: 'Bitnami 16 → 18, swap',
    file: 'majors',
    flavour: 'bitnami',
    from: 16,
    to: 18,
    method: 'swap',
    flags: ['--image', BITNAMI_18],
  },
  {
    name: 'official postgres:12 Deployment of seed 000 (admin, PGDATA in a subdirectory), 12 → 14, link',
    file: 'majors',
    flavour: 'official',
    from: 12,
    to: 14,
    method: 'link',
  },
  {
    name: 'official postgres Deployment, 14 → 16, copy',
    file: 'majors',
    flavour: 'official',
    from: 14,
    to: 16,
    method: 'copy',
  },
];

/** One case as a test runs it: its namespace, its database pod and the fingerprint before. */
export interface Deployed extends UpgradeCase {
  ns: string;
  pod: string;
  before?: Fingerprint;
}

/** A name that psql would read as a connection string: the fingerprint must read it as any other database. */
export const HOSTILE_DB = 'host=127.0.0.1 port=5499 dbname=x';
export const user = (c: UpgradeCase): string => c.superuser ?? (c.flavour === 'bitnami' ? 'postgres' : 'admin');
export const app = (c: UpgradeCase): string =>
  c.flavour === 'official' ? 'postgres-app' : c.circleci ? 'circleci-server-frontend' : 'circleci-frontend';
export const selector = (c: UpgradeCase): string =>
  c.flavour === 'bitnami' ? 'app.kubernetes.io/name=postgresql' : 'k8s-app=postgres';

/** The cases of one e2e file, each with a namespace of its own. */
export function casesOf(file: UpgradeCase['file']): Deployed[] {
  return UPGRADE_CASES.filter((c) => c.file === file).map((c, i) => ({
    ...c,
    ns: uniqueNamespace(`${file === 'upgrade' ? 'up' : 'mj'}-${i}-${c.flavour}`),
    pod: '',
  }));
}

/** Runs `kubectl pgupgrade upgrade …`, keeping the output for the secrets check. */
export async function upgradeCli(cp: ControlPlane, args: string[], outputs: RunResult[]): Promise<RunResult> {
  const r = await runAsync(requireBinary(), ['upgrade', ...args], { KUBECONFIG: cp.kubeconfig }, 300_000);
  outputs.push(r);
  return r;
}

/** Creates the namespace and the database with its writing application, seeds it and fingerprints it. */
export async function deployCase(cp: ControlPlane, c: Deployed, password: string): Promise<void> {
  await createNamespace(
    cp,
    c.ns,
    c.flavour === 'bitnami' ? { 'pod-security.kubernetes.io/enforce': 'restricted' } : {},
  );
  if (c.objects) {
    await applyObjects(cp, c.objects(c.ns, password));
  } else if (c.flavour === 'bitnami') {
    await applyObjects(
      cp,
      bitnamiFixture({
        namespace: c.ns,
        major: c.from,
        password,
        appReplicas: 2,
        initdbArgs: c.checksums ? '--data-checksums' : undefined,
        storageClassName: c.storageClassName,
        image: c.image,
        ...(c.circleci ? { release: 'circleci-server', name: 'postgresql', helm: true } : {}),
      }),
    );
  } else {
    await applyObjects(cp, [
      officialSecret(c.ns, password),
      ...officialFixture({ namespace: c.ns, major: c.from, password, appReplicas: 1 }),
    ]);
  }
  c.pod = await podName(cp, c.ns, selector(c));
  await waitReady(cp, c.ns, c.pod);
  const sql = podSql(cp, c.ns, c.pod, user(c));
  await seedCluster(sql, { rows: 200 });
  await sql('postgres', `CREATE DATABASE "${HOSTILE_DB}"`);
  await sql(HOSTILE_DB, 'CREATE TABLE t AS SELECT 1 AS x');
  await plantHostileRole(sql);
  // A test-environment artefact, not the users' world: Debian trixie's 17 tags columns with pg_attver, which 18
  // rejects (docs/design.md, "Things found"); check reports it as a failure, so the 17 clusters are cleared first.
  if (c.from === 17 && c.to >= 18) {
    const dbs = (await sql('postgres', 'SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1'))
      .trim()
      .split('\n');
    await clearPg17Attver(sql, dbs);
  }
  c.before = await takeFingerprint(sql);
  await waitForWrites(cp, c.ns, { app: app(c), major: c.from, moreThan: 10 });
}

/** The report of `upgrade -o json`, as far as the tests read it. */
export interface UpgradeReportJson {
  to: number;
  snapshot: string;
  fingerprint: { equal: boolean };
  timingsMs: Record<string, number>;
  oldClusterKeptAt: string;
  helmValues?: string;
  verification: string;
  validation: { checks: Array<{ id: string; status: string; found: string }>; summary: { fail: number } };
}

/**
 * Everything a finished upgrade must show: the new major runs, the tests' own fingerprint equals the one before,
 * every write the application saw committed is there and it writes again, the snapshot is ready, the old cluster
 * is kept, the record says done, and a re-run has nothing to do.
 */
export async function verifyUpgraded(
  cp: ControlPlane,
  c: Deployed,
  r: RunResult,
  outputs: RunResult[],
  restarts: string,
  opts: { keepNamespace?: boolean } = {},
): Promise<UpgradeReportJson> {
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const rep = JSON.parse(r.stdout) as UpgradeReportJson;
  assert.is(rep.to, c.to);
  assert.ok(rep.fingerprint.equal);
  // By default the applications return once every relation and its size are equal; --full-verify compares all first,
  // and so does an upgrade of a stopped database (no server to read the shape from before).
  assert.match(
    rep.verification,
    (c.flags ?? []).includes('--full-verify')
      ? 'before the applications returned (--full-verify)'
      : c.stopped
        ? 'before the applications returned (no shape of the old server was read in this run)'
        : 'every relation and its size equal before the applications returned',
    rep.verification,
  );
  // It ends with validate's checks, and their pass is recorded for cleanup.
  assert.is(rep.validation.summary.fail, 0, JSON.stringify(rep.validation.checks));
  assert.equal(
    rep.validation.checks
      .map((x) => x.id)
      .filter((id) => ['server', 'connections', 'data', 'applications', 'finished'].includes(id)),
    ['server', 'connections', 'data', 'applications', 'finished'],
  );
  const pod = await podName(cp, c.ns, selector(c));
  const sql = podSql(cp, c.ns, pod, user(c));
  assert.is(
    await hostileRoleIsSuperuser(sql),
    false,
    'check, the upgrade and validate never ran code of the hostile role as superuser',
  );
  assert.is(
    Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000),
    c.to,
    'the server runs the target major',
  );
  // update_extensions.sql has moved extensions to the new major's versions, as it should: they must all still be there.
  assert.equal(
    compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(await takeFingerprint(sql)), {
      extensionUpdates: true,
    }),
    [],
    `the database had restarted ${restarts} times before the upgrade`,
  );
  const writes = await waitForWrites(cp, c.ns, { app: app(c), major: c.to, moreThan: 5 });
  assert.ok(
    (countWrites(writes).byMajor[c.from] ?? 0) > 10,
    `the application wrote on ${c.from}: ${JSON.stringify(countWrites(writes))}`,
  );
  await assertWritesPresent(sql, await committedWrites(cp, c.ns, app(c)));
  if (c.checksums) assert.is((await sql('postgres', 'show data_checksums')).trim(), 'on');
  const vs = JSON.parse(
    (await cp.kubectl(['-n', c.ns, 'get', 'volumesnapshot', rep.snapshot, '-o', 'json'])).stdout,
  ) as { status: { readyToUse: boolean } };
  assert.is(vs.status.readyToUse, true);
  if (c.flavour === 'bitnami') {
    const a = JSON.parse((await cp.kubectl(['-n', c.ns, 'get', 'deploy', app(c), '-o', 'json'])).stdout) as {
      spec: { replicas: number };
      status: { readyReplicas: number };
    };
    assert.is(a.spec.replicas, 2);
    assert.is(a.status.readyReplicas, 2);
  }
  const kept = await cp.kubectl(['-n', c.ns, 'exec', pod, '--', 'cat', `${rep.oldClusterKeptAt}/PG_VERSION`], {
    allowFail: true,
  });
  assert.is(kept.stdout.trim(), String(c.from), 'the old cluster is kept beside the new one');
  assert.is((await recordedState(cp, c.ns))?.phase, 'done');
  const again = await upgradeCli(
    cp,
    [
      '-n',
      c.ns,
      '--to',
      String(c.to),
      '--method',
      c.method,
      '-y',
      ...(c.flags ?? []).filter((f) => f !== '--full-verify'),
    ],
    outputs,
  );
  assert.is(again.code, 0, `a re-run of a finished upgrade is nothing to do: ${again.stderr}`);
  assert.match(again.stderr, 'nothing to do');
  assert.ok(rep.timingsMs.downtime && rep.timingsMs.downtime > 0);
  if (!opts.keepNamespace) await releaseNamespaces(cp, [c.ns]);
  return rep;
}

/** No output of the binary holds the password, nor does the apiserver's audit log (exec command lines included). */
export function assertNoSecret(cp: ControlPlane, outputs: RunResult[], password: string, atLeast: number): void {
  assert.ok(outputs.length >= atLeast, `${outputs.length} outputs`);
  for (const r of outputs)
    assert.not.ok(r.stdout.includes(password) || r.stderr.includes(password), 'the password leaked into the output');
  const audit = fs.readFileSync(cp.auditLog, 'utf8');
  assert.not.ok(
    audit.includes(password) || audit.includes(encodeURIComponent(password)),
    'the password reached the audit log',
  );
}
