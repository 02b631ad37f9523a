import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import type { Major } from '../../support/pg/fetch.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { SEED_DATABASES, SEED_ROLES, seedCluster } from '../../support/pg/seed.ts';
import {
  BITNAMI,
  TEST_SUPERUSER_PASSWORD,
  initCluster,
  makeVolume,
  runOn,
  startServer,
  type PgServer,
} from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';
import {
  DUMP_GLOBALS_SCRIPT,
  DUMP_RESTORE_SCRIPT,
  dumpRestoreArgs,
  dumpRestoreStdin,
} from '../../../src/postgres/dump-script.ts';
import { psqlStdin } from '../../../src/postgres/psql-scripts.ts';
import { rewriteGlobals } from '../../../src/postgres/dump-globals.ts';
import { loadSettings, loadSettingsSql, putBackSql } from '../../../src/postgres/dump-plan.ts';

const test = suite('logical dump/restore between two sandboxed servers of different majors');

/** A seeded source of `from` and an empty target of `to`, each on a volume of its own, stopped and removed at the end. */
async function seededPair(from: Major, to: Major): Promise<{ vb: string; a: PgServer; b: PgServer }> {
  const [va, vb] = [makeVolume('dump-src'), makeVolume('dump-dst')];
  onTeardown(() => [va, vb].forEach((v) => fs.rmSync(v, { recursive: true, force: true })));
  await initCluster(from, va);
  await initCluster(to, vb);
  const [a, b] = [await startServer(from, va), await startServer(to, vb)];
  onTeardown(() => a.stop());
  onTeardown(() => b.stop());
  await seedCluster(a.sql, { rows: 300 });
  return { vb, a, b };
}

/** pg_dumpall --globals-only, then pg_dump -Fd -j2 and pg_restore -j2 per database, with the target's client tools. */
async function dumpCase(from: Major, to: Major): Promise<void> {
  const { vb, a, b } = await seededPair(from, to);
  const before = await takeFingerprint(a.sql);
  const env = { PGPASSWORD: TEST_SUPERUSER_PASSWORD, PGUSER: 'postgres', PGHOST: '127.0.0.1' };
  // The newer major's client tools, as the PostgreSQL docs advise; the dump lands on the target's volume.
  const globals = await runOn([to], vb, ['pg_dumpall', '--globals-only', '-p', String(a.port)], env);
  await runOn(
    [to],
    vb,
    ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=0', '-p', String(b.port), '-d', 'postgres', '-f', '-'],
    env,
    globals,
  );
  fs.mkdirSync(`${vb}/dump`);
  fs.chownSync(`${vb}/dump`, BITNAMI.uid, BITNAMI.gid);
  const started = Date.now();
  for (const db of [...SEED_DATABASES, 'postgres']) {
    const dir = `${BITNAMI.mount}/dump/${db}`;
    await runOn([to], vb, ['pg_dump', '-Fd', '-j', '2', '-p', String(a.port), '-d', db, '-f', dir], env);
    const target = db === 'postgres' ? ['-d', 'postgres'] : ['-C', '-d', 'postgres'];
    await runOn([to], vb, ['pg_restore', '-j', '2', '--exit-on-error', '-p', String(b.port), ...target, dir], env);
  }
  const after = await takeFingerprint(b.sql);
  assert.equal(compareFingerprints(before, after, { extensionUpdates: true }), []);
  assert.is(
    after.perDb.app1?.extensions.hstore,
    '1.8',
    "CREATE EXTENSION installed the target major's default version",
  );
  for (const role of [SEED_ROLES.md5, SEED_ROLES.scram]) {
    const r = await b.psql('app2', role.name, role.password, 'SELECT count(*) FROM orders');
    assert.is(r.code, 0, r.stderr);
  }
  console.log(`\n  ${from}→${to} dump/restore (-j2): ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

test('pg_dump -Fd -j2 of 13, pg_restore -j2 into 17: equal fingerprints, both roles log in', () => dumpCase(13, 17));
// 10 and 11 are dump sources only here: no pg_controldata in reach reads their control files (docs/test-environment.md).
test("10 → 14 by 14's pg_dumpall, pg_dump and pg_restore: equal fingerprints, both roles log in", () =>
  dumpCase(10, 14));
test("11 → 16 by 16's pg_dumpall, pg_dump and pg_restore: equal fingerprints, both roles log in", () =>
  dumpCase(11, 16));

/** The seed's pair: the new instance's superuser is another role, with a password of its own (pg-14-admin). */
const TARGET_ADMIN = { name: 'pg-14-admin', password: 'target-admin-pass-51c0' };

/** A server restarted on its volume (ALTER SYSTEM's restart-only settings take effect), stopped at the end. */
async function restarted(s: PgServer, volume: string): Promise<PgServer> {
  await s.stop();
  const n = await startServer(s.major, volume);
  onTeardown(() => n.stop());
  return n;
}

/** One run of a dump script in the target's sandbox: its output, or the error that names its exit code. */
function runScript(
  to: Major,
  vb: string,
  script: string,
  args: string[],
  stdin: string,
): Promise<{ out: string } | { failed: string }> {
  return runOn([to], vb, ['sh', '-c', script, 'dump', ...args], {}, stdin).then(
    (out) => ({ out }),
    (e: Error) => ({ failed: e.message }),
  );
}

const showWalLevel = async (s: PgServer) => (await s.sql('postgres', 'SHOW wal_level')).trim();

/**
 * The plugin's own scripts (src/postgres/dump-script.ts) with the target's client tools, into a target tuned by
 * dump-plan.ts's settings (ALTER SYSTEM, restart) and put back after: a run whose source and target are one server
 * is refused; the globals are read from a read-only session and rewritten for a target whose superuser has another
 * name; per database pg_dump -Fc streamed into pg_restore (or -Fd -j2 into a kept directory). Then the same load
 * again is refused: the target is no longer empty.
 */
async function scriptCase(from: Major, to: Major, keep: boolean): Promise<void> {
  const { vb, a, b: fresh } = await seededPair(from, to);
  await fresh.sql('postgres', `CREATE ROLE "${TARGET_ADMIN.name}" SUPERUSER LOGIN PASSWORD '${TARGET_ADMIN.password}'`);
  const settings = loadSettings({ limits: { memory: '1Gi' } }, 2);
  await fresh.sql('postgres', loadSettingsSql(settings));
  let b = await restarted(fresh, vb);
  assert.is(await showWalLevel(b), 'minimal');
  const before = await takeFingerprint(a.sql);
  const self = dumpRestoreArgs({
    source: { host: '127.0.0.1', port: a.port, user: 'postgres' },
    target: { host: '127.0.0.1', port: a.port, user: 'postgres' },
    jobs: 1,
  });
  const refused = await runScript(
    to,
    vb,
    DUMP_RESTORE_SCRIPT,
    self,
    dumpRestoreStdin(TEST_SUPERUSER_PASSWORD, TEST_SUPERUSER_PASSWORD, '', ['app1']),
  );
  assert.match('failed' in refused ? refused.failed : '', /exited 33:[^]*the source and the target are one server/);
  const globals = await runOn(
    [to],
    vb,
    ['sh', '-c', DUMP_GLOBALS_SCRIPT, 'globals', '127.0.0.1', String(a.port), 'postgres'],
    {},
    psqlStdin(TEST_SUPERUSER_PASSWORD, []),
  );
  const rewritten = rewriteGlobals(globals, { superuser: TARGET_ADMIN.name, existing: ['postgres'] });
  // Before 14, password_encryption defaulted to md5: initdb's superuser has an md5 hash there too.
  assert.equal(
    rewritten.md5Roles.filter((r) => r !== 'postgres'),
    [SEED_ROLES.md5.name],
  );
  if (keep) {
    fs.mkdirSync(`${vb}/dump`);
    fs.chownSync(`${vb}/dump`, BITNAMI.uid, BITNAMI.gid);
  }
  const args = dumpRestoreArgs({ ...argsOf(a, b), jobs: 2, keepDir: keep ? `${BITNAMI.mount}/dump` : undefined });
  const stdin = dumpRestoreStdin(TEST_SUPERUSER_PASSWORD, TARGET_ADMIN.password, rewritten.sql, [
    ...SEED_DATABASES,
    'postgres',
  ]);
  const started = Date.now();
  const run = await runScript(to, vb, DUMP_RESTORE_SCRIPT, args, stdin);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  assert.ok('out' in run, 'failed' in run ? run.failed : '');
  assert.not.match(JSON.stringify(run), TEST_SUPERUSER_PASSWORD);
  assert.not.match(JSON.stringify(run), TARGET_ADMIN.password);
  await b.sql('postgres', putBackSql(settings));
  b = await restarted(b, vb);
  assert.is(await showWalLevel(b), 'replica', 'the durable settings are back');
  // The target's own superuser is the one thing it has that the source has not.
  assert.equal(compareFingerprints(before, await takeFingerprint(b.sql), { extensionUpdates: true }), [
    `role ${TARGET_ADMIN.name} new after`,
  ]);
  assert.equal(compareFingerprints(before, await takeFingerprint(a.sql)), [], 'the source is unchanged');
  for (const role of [SEED_ROLES.md5, SEED_ROLES.scram, TARGET_ADMIN]) {
    const r = await b.psql('app2', role.name, role.password, 'SELECT count(*) FROM orders');
    assert.is(r.code, 0, `${role.name}: ${r.stderr}`);
  }
  const again = await runScript(to, vb, DUMP_RESTORE_SCRIPT, dumpRestoreArgs({ ...argsOf(a, b), jobs: 2 }), stdin);
  assert.match(
    'failed' in again ? again.failed : '',
    /exited 30:[^]*the target is not empty \(databases app1, app2; roles app_md5, app_scram/,
  );
  console.log(
    `\n  ${from}→${to} by the plugin's dump script (${keep ? 'kept -Fd -j2' : 'streamed -Fc'}, tuned target): ${seconds} s`,
  );
}

/** Where the source and the target listen, as the script takes them. */
const argsOf = (a: PgServer, b: PgServer) => ({
  source: { host: '127.0.0.1', port: a.port, user: 'postgres' },
  target: { host: '127.0.0.1', port: b.port, user: TARGET_ADMIN.name },
});

test("the plugin's script, 12 → 14 streamed, into a pg-14-admin target: equal fingerprints, every role logs in, a second run refused", () =>
  scriptCase(12, 14, false));
test("the plugin's script, 15 → 17 into a kept -Fd dump with -j2: equal fingerprints, every role logs in, a second run refused", () =>
  scriptCase(15, 17, true));

test.run();
