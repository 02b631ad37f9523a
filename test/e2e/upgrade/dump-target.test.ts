import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { runUntil } from '../../support/cli/run-until.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { officialFixture, officialSecret } from '../../support/fixtures/official.ts';
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
  type Write,
} from '../../support/pg/writes.ts';
import { assertNoSecret, deployCase, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 14, `--target <workload>`: the seed's 12 loaded into an existing, empty 14 Deployment made beforehand (its own
// Secret, Service and PVC), the source's Service cut over to its pods, then --rollback, which leaves it running.
const test = suite(
  "upgrade --method dump --target: seed 000's 12 into an existing, empty 14 Deployment, cut over, and back",
);
const PASSWORD = 'DumpTarget-E2E-S3cret';
/** pg15's own password, unlike the source's: the plan reads its version with it, or could not tell its major. */
const PG15_PASSWORD = 'Pg15-Own-E2E-Pa55';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'official 12 → existing 14 by dump',
  file: 'majors',
  flavour: 'official',
  from: 12,
  to: 14,
  method: 'link',
  ns: uniqueNamespace('dump-target'),
  pod: '',
};
const APP = 'postgres-app';
const SOURCE = 'deploy/postgres';

const get = async (cp: ControlPlane, what: string, path: string) =>
  (await cp.kubectl(['-n', c.ns, 'get', ...what.split(' '), '-o', `jsonpath=${path}`])).stdout;
const svcVersions = (cp: ControlPlane) =>
  get(cp, 'services,secrets', '{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}');
const selectorOf = async (cp: ControlPlane, svc: string) =>
  JSON.parse(await get(cp, `service ${svc}`, '{.spec.selector}')) as Record<string, string>;
const replicasOf = async (cp: ControlPlane, deploy: string) =>
  Number(await get(cp, `deploy ${deploy}`, '{.spec.replicas}'));
const names = (cp: ControlPlane) =>
  get(cp, 'deployments,statefulsets,pvc', '{range .items[*]}{.kind}/{.metadata.name} {end}');
const upgrade = (cp: ControlPlane, more: string[]) =>
  upgradeCli(cp, ['-n', c.ns, SOURCE, '--to', '14', '--method', 'dump', ...more], outputs);
const major = async (sql: ReturnType<typeof podSql>) =>
  Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000);

/** An empty official-image Deployment beside the source: its own Secret (key admin-pass), PVC and Service; no application. */
async function instance(
  cp: ControlPlane,
  name: string,
  m: number,
  password: string,
): Promise<ReturnType<typeof podSql>> {
  await applyObjects(cp, [
    officialSecret(c.ns, password, name),
    ...officialFixture({ namespace: c.ns, name, major: m, password, secretName: name, storage: '2Gi' }),
  ]);
  const pod = await podName(cp, c.ns, `k8s-app=${name}`);
  await waitReady(cp, c.ns, pod);
  return podSql(cp, c.ns, pod, 'admin');
}

/** Runs upgrade with `args` and asserts exit 2, `said` in its message, and nothing changed in the namespace. */
async function refused(cp: ControlPlane, args: string[], said: RegExp | string): Promise<void> {
  const before = (await resourceVersions(cp, c.ns)) + (await svcVersions(cp));
  const r = await upgrade(cp, args);
  assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, said);
  assert.match(r.stderr, 'nothing was changed');
  assert.is((await resourceVersions(cp, c.ns)) + (await svcVersions(cp)), before, 'nothing changed');
}

let pg14: ReturnType<typeof podSql>;

test("set up: seed 000's Deployment on 12, seeded, its application writing; an empty 14 and an empty 15 beside it", async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, c, PASSWORD);
  // pg14 has its own Secret; its value is the source's so that the application, which logs in as admin with the
  // source's Secret, keeps working once cut over (the plugin never changes the existing target's superuser password).
  pg14 = await instance(cp, 'pg14', 14, PASSWORD);
  await instance(cp, 'pg15', 15, PG15_PASSWORD);
  assert.is(await major(pg14), 14);
});

test('refused, exit 2, nothing changed: a target on another major, a non-empty target, the source itself', async () => {
  const { cp } = await sharedEnv();
  // Read with pg15's own password (the source's would not let the plugin in): its major, not its login, is refused.
  await refused(
    cp,
    ['--target', 'deploy/pg15', '-y'],
    /--target deploy\/pg15: Deployment \S+\/pg15 runs PostgreSQL 15\.\d+, not 14 \(--to\)/,
  );
  // A fresh official instance with POSTGRES_USER=admin holds a database admin (POSTGRES_DB's default): not empty; the
  // refusal says where it comes from. Its owner drops it (the source has its own admin database, which the load brings).
  await refused(
    cp,
    ['--target', 'pg14', '-y'],
    /Deployment \S+\/pg14 is not empty \(databases admin\): .*named by POSTGRES_DB/,
  );
  await pg14('postgres', 'DROP DATABASE admin');
  await pg14('postgres', 'CREATE DATABASE leftover');
  await pg14('postgres', 'CREATE ROLE someone');
  await refused(
    cp,
    ['--target', 'pg14', '-y'],
    /Deployment \S+\/pg14 is not empty \(databases leftover; roles someone\)/,
  );
  await pg14('postgres', 'DROP DATABASE leftover');
  await pg14('postgres', 'DROP ROLE someone');
  await refused(cp, ['--target', 'svc/postgres', '-y'], 'the source and the target are the same server');
  await cp.kubectl([
    '-n',
    c.ns,
    'delete',
    'deploy/pg15',
    'service/pg15',
    'pvc/pgdata-pg15',
    'secret/pg15',
    '--wait=true',
  ]);
});

let oldBefore: Fingerprint;
/** The application's journal at the rollback: what it wrote on 14 then is lost by the rollback, as it says. */
let rolledBackJournal: Write[] = [];

test("12 → the existing 14 by dump: no object made, every write there, equal fingerprints, Service postgres cut over to pg14's pods", async () => {
  const { cp } = await sharedEnv();
  oldBefore = c.before as Fingerprint;
  const made = await names(cp);
  const pg14Svc = await get(cp, 'service pg14', '{.metadata.resourceVersion}');
  // Issue 24, 4.7: pg14's owner's own ALTER SYSTEM settings, archive_mode among the load's (it was RESET: archiving off).
  await pg14(
    'postgres',
    "ALTER SYSTEM SET archive_mode = 'on';\nALTER SYSTEM SET archive_command = '/bin/true';\nALTER SYSTEM SET max_wal_size = '3GB';\n" +
      "ALTER SYSTEM SET work_mem = '7MB';",
  );
  const r = await upgrade(cp, ['--target', 'deploy/pg14', '-y', '-o', 'json']);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, 'the existing Deployment pg14 (--target');
  assert.match(r.stderr, 'tuned for the load (ALTER SYSTEM, restarted by scaling its Deployment 0 → 1)');
  const rep = JSON.parse(r.stdout) as {
    newInstance: string;
    existingTarget: boolean;
    fingerprint: { equal: boolean };
    validation: { summary: { fail: number } };
  };
  assert.is(rep.newInstance, 'Deployment/pg14');
  assert.ok(rep.existingTarget);
  assert.ok(rep.fingerprint.equal);
  assert.is(rep.validation.summary.fail, 0, "the upgrade ends with validate's checks, all passing");
  assert.is(await names(cp), made, 'no Deployment, StatefulSet or PVC made or deleted');
  const record = JSON.parse(await get(cp, 'configmap pgupgrade-dump-postgres', '{.data.state\\.json}')) as {
    phase: string;
    target: { existing?: boolean; name: string };
  };
  assert.is(record.phase, 'done');
  assert.ok(record.target.existing && record.target.name === 'pg14', JSON.stringify(record.target));
  assert.equal(await selectorOf(cp, 'postgres'), { 'k8s-app': 'pg14' });
  assert.is(await get(cp, 'service pg14', '{.metadata.resourceVersion}'), pg14Svc, "pg14's own Service is left alone");
  assert.is(await replicasOf(cp, 'postgres'), 0, 'the old instance is scaled to 0');
  assert.is(await replicasOf(cp, 'pg14'), 1);
  const pod = await podName(cp, c.ns, 'k8s-app=pg14');
  pg14 = podSql(cp, c.ns, pod, 'admin');
  assert.is(await major(pg14), 14);
  assert.is((await pg14('postgres', 'show fsync')).trim(), 'on', "the load's settings are put back");
  const shown = await pg14(
    'postgres',
    "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name) FROM pg_settings " +
      "WHERE name IN ('archive_mode', 'archive_command', 'max_wal_size', 'work_mem', 'full_page_writes')",
  );
  assert.is(
    shown.trim(),
    'archive_command=/bin/true archive_mode=on full_page_writes=on max_wal_size=3072MB work_mem=7168kB',
    "pg14's own ALTER SYSTEM values are back, not RESET",
  );
  assert.equal(
    compareFingerprints(withoutWrites(oldBefore), withoutWrites(await takeFingerprint(pg14)), {
      extensionUpdates: true,
    }),
    ['role admin: password md5 → scram-sha-256'],
  );
  const writes = await waitForWrites(cp, c.ns, { app: APP, major: 14, moreThan: 3 });
  assert.ok((countWrites(writes).byMajor[12] ?? 0) > 10, JSON.stringify(countWrites(writes)));
  await assertWritesPresent(pg14, await committedWrites(cp, c.ns, APP));
});

test('validate follows the record to the existing target and passes', async () => {
  const { cp } = await sharedEnv();
  // Two PostgreSQL servers are in the namespace now (the source, scaled to 0, and pg14): the source is named.
  const r = await runAsync(
    requireBinary(),
    ['validate', '-n', c.ns, SOURCE, '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const checks = (JSON.parse(r.stdout) as { checks: Array<{ id: string; found: string }> }).checks;
  assert.match(checks.find((x) => x.id === 'server')?.found ?? '', /PostgreSQL 14\.\d+, Ready/);
  assert.match(checks.find((x) => x.id === 'data')?.found ?? '', /^equal/);
});

test('--rollback: Service postgres back, the old instance serving on 12, pg14 left running with the loaded data', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', c.ns, SOURCE, '--rollback', '-y'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, 'is left running');
  assert.equal(await selectorOf(cp, 'postgres'), { 'k8s-app': 'postgres' });
  assert.is(await replicasOf(cp, 'pg14'), 1, 'the existing target is not scaled to 0');
  const pod = await podName(cp, c.ns, 'k8s-app=postgres');
  await waitReady(cp, c.ns, pod);
  const sql = podSql(cp, c.ns, pod, 'admin');
  assert.is(await major(sql), 12);
  assert.equal(
    compareFingerprints(withoutWrites(oldBefore), withoutWrites(await takeFingerprint(sql))),
    [],
    "the old instance's data is unchanged",
  );
  rolledBackJournal = await committedWrites(cp, c.ns, APP);
  const on12 = countWrites(rolledBackJournal).byMajor[12] ?? 0;
  await waitForWrites(cp, c.ns, { app: APP, major: 12, moreThan: on12 + 3 });
  assert.is(await major(podSql(cp, c.ns, await podName(cp, c.ns, 'k8s-app=pg14'), 'admin')), 14, 'pg14 still serves');
});

/** pg14 made anew by its owner (what the plugin never does to an existing target): its Deployment and PVC deleted and applied again, empty. */
async function freshPg14(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['-n', c.ns, 'delete', 'deploy/pg14', 'pvc/pgdata-pg14', '--wait=true']);
  await cp.kubectl(['-n', c.ns, 'wait', '--for=delete', 'pod', '-l', 'k8s-app=pg14', '--timeout=120s'], {
    allowFail: true,
  });
  pg14 = await instance(cp, 'pg14', 14, PASSWORD);
  await pg14('postgres', 'DROP DATABASE admin');
}

test('SIGKILL during the load into pg14: the re-run refuses (exit 2) naming what the load made, never resets pg14; once emptied, it completes', async () => {
  const { cp } = await sharedEnv();
  const after = await upgrade(cp, ['--target', 'deploy/pg14', '-y']);
  assert.is(after.code, 2, after.stderr);
  const clear = /first: kubectl (.*?); nothing was changed/.exec(after.stderr)?.[1];
  assert.ok(
    clear && !clear.includes('pg14') && clear.includes('configmap/pgupgrade-dump-postgres'),
    `pg14 is not the plugin's to delete: ${after.stderr}`,
  );
  assert.match(after.stderr, "the existing Deployment pg14 it loaded into is not the plugin's: it stays");
  await cp.kubectl(clear.split(' '));
  await refused(cp, ['--target', 'deploy/pg14', '-y'], /pg14 is not empty \(databases /);
  await freshPg14(cp);
  const uid = await get(cp, 'deploy pg14', '{.metadata.uid}');
  const args = ['upgrade', '-n', c.ns, SOURCE, '--to', '14', '--method', 'dump', '--target', 'deploy/pg14', '-y'];
  const first = await runUntil(cp, args, /Dump the source and restore it/, async (kill) => {
    await new Promise((r) => setTimeout(r, 1000));
    kill('SIGKILL');
  });
  outputs.push({ code: first.code ?? -1, stdout: first.out, stderr: '' } as RunResult);
  const at = (
    JSON.parse(await get(cp, 'configmap pgupgrade-dump-postgres', '{.data.state\\.json}')) as { phase: string }
  ).phase;
  assert.is(at, 'load-started', first.out);
  const half = await upgrade(cp, ['-y']);
  assert.is(half.code, 2, `${half.stdout}\n${half.stderr}`);
  assert.match(
    half.stderr,
    /stopped half-way in an earlier run, and the plugin did not create that instance, so it does not reset it: it holds now databases .*app1/,
  );
  assert.match(half.stderr, 'roles ');
  assert.is(await get(cp, 'deploy pg14', '{.metadata.uid}'), uid, 'pg14 is neither deleted nor made anew');
  assert.is(await get(cp, 'pvc pgdata-pg14', '{.status.phase}'), 'Bound');
  await freshPg14(cp);
  const r = await upgrade(cp, ['-y', '-o', 'json']);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(await selectorOf(cp, 'postgres'), { 'k8s-app': 'pg14' });
  pg14 = podSql(cp, c.ns, await podName(cp, c.ns, 'k8s-app=pg14'), 'admin');
  await assertWritesPresent(pg14, await committedWrites(cp, c.ns, APP), {
    rolledBack: { from: 14, journal: rolledBackJournal },
  });
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  const { cp } = await sharedEnv();
  assertNoSecret(cp, outputs, PASSWORD, 4);
  assertNoSecret(cp, outputs, PG15_PASSWORD, 1);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
