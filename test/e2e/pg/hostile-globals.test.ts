import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import {
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

// Issue 24: a login role sets its own settings to multi-line text, so that a line-based rewrite of pg_dumpall's
// output would drop a line that holds a closing quote, and the rest would run as the target's superuser. Real
// pg_dumpall, rewriteGlobals and the plugin's own load script (its restricted psql) between two real servers.
const test = suite('hostile role settings through real pg_dumpall --globals-only, rewriteGlobals and the load script');

const MAJOR = 15;
const MALLORY = { password: 'mallory-pass-8e21' };
// The second role's values hold a backslash: pg_dumpall prints those as E'…' (appendStringLiteralConn).
const SETTINGS: Record<string, string[]> = {
  mallory: [
    String.raw`ALTER ROLE CURRENT_USER SET search_path = E'a\nALTER ROLE postgres WITH x'`,
    String.raw`ALTER ROLE CURRENT_USER SET temp_tablespaces = E'\n; ALTER ROLE mallory SUPERUSER; --'`,
  ],
  mallory_e: [
    String.raw`ALTER ROLE CURRENT_USER SET search_path = E'a\\\nALTER ROLE postgres WITH x'`,
    String.raw`ALTER ROLE CURRENT_USER SET temp_tablespaces = E'\\\n; ALTER ROLE mallory_e SUPERUSER; --'`,
  ],
};
const SETTINGS_SQL =
  'SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole ORDER BY 1';
const SUPER_SQL = "SELECT rolname, rolsuper FROM pg_roles WHERE rolname LIKE 'mallory%' ORDER BY 1";

let va = '';
let vb = '';
let a: PgServer;
let b: PgServer;
let globals = '';

/** DUMP_RESTORE_SCRIPT from a to b, with these globals and no database: its output, or the error naming its exit code. */
function load(sql: string): Promise<string> {
  const args = dumpRestoreArgs({
    source: { host: '127.0.0.1', port: a.port, user: 'postgres' },
    target: { host: '127.0.0.1', port: b.port, user: 'postgres' },
    jobs: 1,
  });
  return runOn(
    [MAJOR],
    vb,
    ['sh', '-c', DUMP_RESTORE_SCRIPT, 'dump', ...args],
    {},
    dumpRestoreStdin(TEST_SUPERUSER_PASSWORD, TEST_SUPERUSER_PASSWORD, sql, []),
  );
}

test('set up: two servers; on the source, ordinary login roles that set their own settings to multi-line text', async () => {
  [va, vb] = [makeVolume('hostile-src'), makeVolume('hostile-dst')];
  onTeardown(() => [va, vb].forEach((v) => fs.rmSync(v, { recursive: true, force: true })));
  await initCluster(MAJOR, va);
  await initCluster(MAJOR, vb);
  [a, b] = [await startServer(MAJOR, va), await startServer(MAJOR, vb)];
  onTeardown(() => a.stop());
  onTeardown(() => b.stop());
  for (const [role, statements] of Object.entries(SETTINGS)) {
    await a.sql('postgres', `CREATE ROLE ${role} LOGIN PASSWORD '${MALLORY.password}'`);
    const r = await a.psql('postgres', role, MALLORY.password, `${statements.join(';\n')};`);
    assert.is(r.code, 0, r.stderr);
  }
  globals = await runOn(
    [MAJOR],
    vb,
    ['sh', '-c', DUMP_GLOBALS_SCRIPT, 'globals', '127.0.0.1', String(a.port), 'postgres'],
    {},
    psqlStdin(TEST_SUPERUSER_PASSWORD, []),
  );
});

test("pg_dumpall prints the values as plain literals with their newlines, and as E'…' when they hold a backslash", () => {
  assert.match(globals, "ALTER ROLE mallory SET search_path TO 'a\nALTER ROLE postgres WITH x';\n");
  assert.match(globals, "ALTER ROLE mallory SET temp_tablespaces TO '\n; ALTER ROLE mallory SUPERUSER; --';\n");
  assert.match(globals, "ALTER ROLE mallory_e SET search_path TO E'a\\\\\nALTER ROLE postgres WITH x';\n");
});

test("rewritten and loaded by the plugin's script: no role became superuser, the settings came over verbatim", async () => {
  const r = rewriteGlobals(globals, { superuser: 'postgres', existing: ['postgres'] });
  const loaded = await load(r.sql).then(
    () => '',
    (e: Error) => e.message,
  );
  assert.is(await b.sql('postgres', SUPER_SQL), 'mallory\tf\nmallory_e\tf\n');
  assert.is(loaded, '');
  assert.equal(
    r.skipped.map((s) => s.split(' WITH ')[0]),
    ['CREATE ROLE postgres;', 'ALTER ROLE postgres'],
  );
  assert.not.match(r.sql, /^\\/m, "no backslash line (the dump's own \\restrict) is left");
  const settings = await b.sql('postgres', SETTINGS_SQL);
  assert.is(settings, await a.sql('postgres', SETTINGS_SQL));
  assert.match(settings, 'ALTER ROLE mallory SUPERUSER; --');
  for (const role of Object.keys(SETTINGS)) {
    const login = await b.psql('postgres', role, MALLORY.password, 'SHOW search_path');
    assert.is(login.code, 0, login.stderr);
  }
});

test("the script's psql is restricted: a meta-command that reached it anyway runs nothing", async () => {
  // psql 15.14 and later have \restrict; the machine's 15 is newer (an older one would not restrict, and this fails).
  await b.sql('postgres', 'DROP ROLE mallory, mallory_e');
  const failed = await load('\\! touch /bitnami/postgresql/pwned\nSELECT 1;').then(
    () => '',
    (e: Error) => e.message,
  );
  assert.match(failed, /exited 42:[^]*backslash commands are restricted/);
  assert.not.ok(fs.existsSync(`${vb}/pwned`), 'the shell command did not run');
});

test.run();
