import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DUMP_GLOBALS_SCRIPT } from '../../../src/postgres/dump-script.ts';
import { FINGERPRINT_CLUSTER_SQL, FINGERPRINT_DB_SQL } from '../../../src/postgres/fingerprint.ts';
import { DATABASE_SQL, SERVER_SQL } from '../../../src/postgres/queries.ts';
import { HELD_PSQL_SCRIPT, PSQL_SCRIPT, psqlStdin } from '../../../src/postgres/psql-scripts.ts';
import { SAFE_SEARCH_PATH, SAFE_SESSION_SH } from '../../../src/postgres/session.ts';
import { parsePerDatabase } from '../../../src/postgres/facts.ts';
import { SHAPE_DB_SQL } from '../../../src/postgres/shape.ts';
import { ANALYZE_SCRIPT, UPDATE_EXTENSIONS_SCRIPT } from '../../../src/postgres/upgrade-script.ts';
import { GUARDED_UPDATE_SQL, parseSkipped, skippedText } from '../../../src/postgres/extension-guard.ts';
import {
  AMCHECK_SQL,
  UPDATE_EXTENSIONS_SQL,
  VALIDATE_CLUSTER_SQL,
  validateDatabaseSql,
} from '../../../src/postgres/validate-sql.ts';
import {
  BITNAMI,
  initCluster,
  makeVolume,
  runOn,
  startServer,
  TEST_SUPERUSER_PASSWORD,
  type PgServer,
} from '../../support/pg/server.ts';
import { hostileRoleIsSuperuser, plantHostileRole } from '../../support/pg/hostile-role.ts';
import { onTeardown } from '../../support/teardown.ts';

// A login role on 13 lays the CVE-2018-1058 traps of test/support/pg/hostile-role.ts. The plugin's scripts, run by a real sh and psql as superuser, must never resolve them; the same scripts with the
// safe search_path taken out prove that the traps are armed.
const test = suite('hostile role: the superuser sessions never run code a user owns');

const MAJOR = 13;
let server: PgServer;
let volume = '';
const DBS = ['postgres', 'mallorys'];

async function isSuper(): Promise<boolean> {
  return hostileRoleIsSuperuser(server.sql);
}

function run(script: string, args: string[], dbs = DBS): Promise<string> {
  return runOn([MAJOR], volume, ['sh', '-c', script, 'sh', ...args], {}, psqlStdin(TEST_SUPERUSER_PASSWORD, dbs));
}

const sqlRun = (sql: string) => run(PSQL_SCRIPT, ['postgres', String(server.port), sql]);

test('set up: mallory, NOSUPERUSER, lays her traps in two databases, one of hers with public first on its path', async () => {
  volume = makeVolume('hostilerole');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  await initCluster(MAJOR, volume);
  server = await startServer(MAJOR, volume);
  onTeardown(() => server.stop());
  await plantHostileRole(server.sql);
  assert.is(await isSuper(), false);
});

const UNSAFE_PSQL_SCRIPT = PSQL_SCRIPT.replace(SAFE_SEARCH_PATH, '');

test('control: without the safe search_path the fingerprint as once written (bare quote_ident, ||) calls hers and she is superuser', async () => {
  assert.is.not(UNSAFE_PSQL_SCRIPT, PSQL_SCRIPT, 'PSQL_SCRIPT sets the safe search_path');
  const bare = FINGERPRINT_DB_SQL.replaceAll('pg_catalog.quote_ident(', 'quote_ident(').replaceAll(
    'operator(pg_catalog.||)',
    '||',
  );
  assert.is.not(bare, FINGERPRINT_DB_SQL, "the fingerprint names pg_catalog's quote_ident and ||");
  await run(UNSAFE_PSQL_SCRIPT, ['postgres', String(server.port), bare]);
  assert.is(await isSuper(), true, 'the trap is armed');
  await server.sql('postgres', 'alter role mallory nosuperuser');
});

test('control: a row cast to text as the fingerprint once did (md5(t::text)) runs her cast, whatever the search_path', async () => {
  const asCast = FINGERPRINT_DB_SQL.replace('pg_catalog.textin(pg_catalog.record_out(t.*))', 't::text');
  assert.is.not(asCast, FINGERPRINT_DB_SQL, 'the fingerprint reads rows through record_out');
  await run(PSQL_SCRIPT, ['postgres', String(server.port), asCast]);
  assert.is(await isSuper(), true, 'the cast trap is armed, the safe search_path notwithstanding');
  await server.sql('postgres', 'alter role mallory nosuperuser');
});

const SQL = {
  'check: server facts': SERVER_SQL,
  'check: database facts': DATABASE_SQL,
  'fingerprint: cluster': FINGERPRINT_CLUSTER_SQL,
  'fingerprint: database': FINGERPRINT_DB_SQL,
  shape: SHAPE_DB_SQL,
  'validate: cluster': VALIDATE_CLUSTER_SQL,
  'validate: database': validateDatabaseSql(MAJOR),
  'validate --amcheck': AMCHECK_SQL,
  'validate --update-extensions': UPDATE_EXTENSIONS_SQL,
};

for (const [what, sql] of Object.entries(SQL)) {
  test(`${what} as superuser: mallory stays NOSUPERUSER`, async () => {
    await sqlRun(sql);
    assert.is(await isSuper(), false);
  });
}

// Defense in depth: the text itself names pg_catalog's functions, catalogs and operators, so that even a session
// without the safe search_path (in her database public comes first) never resolves her quote_ident or ||.
for (const [what, sql] of Object.entries(SQL)) {
  test(`${what} without the safe search_path: mallory stays NOSUPERUSER all the same`, async () => {
    await run(UNSAFE_PSQL_SCRIPT, ['postgres', String(server.port), sql]);
    assert.is(await isSuper(), false);
  });
}

// A database's owner may set any USERSET parameter for her database, `role` among them: every session that
// connects there, a superuser's too, then runs as the role she names. The plugin's sessions pass role=none.
test("a database whose owner set its role: the plugin's sessions still run as the superuser there, pg_dump too", async () => {
  const set = await server.psql('mallorys', 'mallory', 'mallory-pass-1', 'alter database mallorys set role = mallory');
  assert.is(set.code, 0, set.stderr);
  assert.is(
    (await server.sql('mallorys', 'select current_user')).trim(),
    'mallory',
    "the setting takes every session, a superuser's too",
  );
  const out = await run(
    PSQL_SCRIPT,
    [
      'postgres',
      String(server.port),
      "select pg_catalog.json_build_object('u', current_user, 's', pg_catalog.current_setting('is_superuser'))",
    ],
    ['mallorys'],
  );
  assert.match(out, '{"u" : "postgres", "s" : "on"}');
  await server.sql(
    'mallorys',
    'reset role; create table public.theirs (x int); revoke all on public.theirs from public',
  );
  // pg_dump as the superuser reads a table she may not: as her, it would fail ("permission denied for table theirs").
  const dump = await runOn(
    [MAJOR],
    volume,
    [
      'sh',
      '-c',
      `${SAFE_SESSION_SH}; pg_dump -h 127.0.0.1 -p "$1" -U postgres -d mallorys | grep -c '^COPY public.theirs'`,
      'sh',
      String(server.port),
    ],
    { PGPASSWORD: TEST_SUPERUSER_PASSWORD },
  );
  assert.is(dump.trim(), '1');
  await server.sql('mallorys', 'reset role; drop table public.theirs; alter database mallorys reset role');
});

test('the held-snapshot fingerprint, vacuumdb and pg_dumpall --globals-only likewise', async () => {
  assert.match(await run(HELD_PSQL_SCRIPT, ['postgres', String(server.port), FINGERPRINT_DB_SQL]), /^HELD$/m);
  await run(ANALYZE_SCRIPT, ['postgres', String(server.port), String(MAJOR)], []);
  await run(DUMP_GLOBALS_SCRIPT, ['127.0.0.1', String(server.port), 'postgres'], []);
  assert.is(await isSuper(), false);
});

// An extension's update script runs as superuser with search_path its own schema: in public, where mallory may
// create and owns functions, an unqualified call there could be hers. hstore 1.4 in public is skipped and named;
// pg_trgm 1.3 in a schema of the superuser's, and hstore 1.4 in a database whose public only the superuser may
// write, are updated. update_extensions.sql as pg_upgrade writes it: a \connect line, then its ALTERs.
const version = async (db: string, ext: string) =>
  (await server.sql(db, `select extversion from pg_extension where extname = '${ext}'`)).trim();

test('update_extensions.sql as the Job runs it: an extension in a schema mallory can write is skipped and named, the others updated', async () => {
  await server.sql(
    'postgres',
    `create extension hstore version '1.4' schema public; create schema guarded; create extension pg_trgm version '1.3' schema guarded`,
  );
  await server.sql('postgres', 'create database extsafe');
  await server.sql('extsafe', `revoke create on schema public from public; create extension hstore version '1.4'`);
  const work = path.join(volume, 'pgupgrade-work');
  fs.mkdirSync(work);
  fs.writeFileSync(
    path.join(work, 'update_extensions.sql'),
    '\\connect postgres\nALTER EXTENSION "hstore" UPDATE;\nALTER EXTENSION "pg_trgm" UPDATE;\n' +
      '\\connect extsafe\nALTER EXTENSION "hstore" UPDATE;\n',
  );
  const out = await run(
    UPDATE_EXTENSIONS_SCRIPT,
    ['postgres', String(server.port), `${BITNAMI.mount}/pgupgrade-work`, GUARDED_UPDATE_SQL],
    [],
  );
  const skipped = parseSkipped(out);
  assert.equal(
    skipped.map((x) => [x.database, x.extension, x.schema]),
    [['postgres', 'hstore', 'public']],
    out,
  );
  const text = skippedText(skipped[0]!);
  assert.match(text, 'PUBLIC may create objects in schema public');
  assert.match(text, 'function public.quote_ident(name) owned by mallory');
  assert.match(text, 'then run in database postgres: ALTER EXTENSION "hstore" UPDATE;');
  assert.is(await version('postgres', 'hstore'), '1.4', 'skipped');
  assert.is(await version('postgres', 'pg_trgm'), '1.5', "updated: its schema is the superuser's alone");
  assert.is(await version('extsafe', 'hstore'), '1.7', 'updated: only the superuser may write this public');
  assert.is(await isSuper(), false);
});

test('validate reads the same risk, and --update-extensions skips and names it too', async () => {
  const facts = JSON.parse(parsePerDatabase(await sqlRun(validateDatabaseSql(MAJOR))).get('postgres') ?? '{}') as {
    extension_risks: Array<{ extension: string; offenders: string[] }>;
  };
  assert.equal(
    facts.extension_risks.map((r) => r.extension),
    ['hstore'],
  );
  assert.match(facts.extension_risks[0]!.offenders.join('; '), 'owned by mallory');
  assert.equal(
    parseSkipped(await sqlRun(UPDATE_EXTENSIONS_SQL)).map((x) => x.extension),
    ['hstore'],
  );
  assert.is(await version('postgres', 'hstore'), '1.4');
  assert.is(await isSuper(), false);
});

test.run();
