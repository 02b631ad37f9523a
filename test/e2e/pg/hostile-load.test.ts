import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import {
  DUMP_GLOBALS_SCRIPT,
  DUMP_RESTORE_SCRIPT,
  dumpRestoreArgs,
  dumpRestoreStdin,
} from '../../../src/postgres/dump-script.ts';
import { rewriteGlobals } from '../../../src/postgres/dump-globals.ts';
import { parsePerDatabase } from '../../../src/postgres/facts.ts';
import { LOAD_CODE_SQL, parseLoadCode } from '../../../src/postgres/load-code.ts';
import { PSQL_SCRIPT, psqlStdin } from '../../../src/postgres/psql-scripts.ts';
import type { Major } from '../../support/pg/fetch.ts';
import { hostileRoleIsSuperuser, plantHostileLoadTraps, plantHostileRole } from '../../support/pg/hostile-role.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import {
  initCluster,
  makeVolume,
  runOn,
  startServer,
  TEST_SUPERUSER_PASSWORD,
  type PgServer,
} from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';

// Issue 24, §1: pg_restore loads rows with COPY as the restoring role, the target's superuser; a CHECK, a domain's
// CHECK or a generated column that calls a function of mallory's runs it per row, as superuser. The plugin finds
// them on the source (LOAD_CODE_SQL, read as superuser without springing them) and refuses the dump method.
const test = suite("hostile role: what the dump's load would run of hers, found before it runs");

const FROM: Major = 13;
const TO: Major = 15;
let a: PgServer;
let b: PgServer;
let vb = '';

async function server(major: Major, label: string): Promise<{ volume: string; s: PgServer }> {
  const volume = makeVolume(label);
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  await initCluster(major, volume);
  const s = await startServer(major, volume);
  onTeardown(() => s.stop());
  return { volume, s };
}

/** LOAD_CODE_SQL through the plugin's own PSQL_SCRIPT, as superuser, in each database: the objects found per database. */
async function loadCode(s: PgServer, volume: string, dbs: string[]): Promise<Record<string, string[]>> {
  // 10 has no jit setting: PSQL_SCRIPT's -c jit=off is refused there (noticed, not this file's business).
  const script = s.major === 10 ? PSQL_SCRIPT.replace(' -c jit=off', '') : PSQL_SCRIPT;
  const out = await runOn(
    [s.major],
    volume,
    ['sh', '-c', script, 'sh', 'postgres', String(s.port), LOAD_CODE_SQL],
    {},
    psqlStdin(TEST_SUPERUSER_PASSWORD, dbs),
  );
  return Object.fromEntries(
    [...parsePerDatabase(out)].map(([db, j]) => [
      db,
      parseLoadCode(j).items.map((x) => (x.fix ? `${x.name} | ${x.fix}` : x.name)),
    ]),
  );
}

test(`set up: a ${FROM} source with mallory, her traps and her load traps, an empty ${TO} target`, async () => {
  a = (await server(FROM, 'hload-src')).s;
  const t = await server(TO, 'hload-dst');
  [b, vb] = [t.s, t.volume];
  await seedCluster(a.sql, { rows: 50 });
  await plantHostileRole(a.sql);
  await plantHostileLoadTraps(a.sql);
  assert.is(await hostileRoleIsSuperuser(a.sql), false);
});

test('LOAD_CODE_SQL names each expression, the function it calls and its owner, with the statement; it springs none of them', async () => {
  const found = await loadCode(a, vb, ['postgres', 'mallorys', 'app1']);
  assert.equal(found, {
    postgres: [],
    app1: [],
    mallorys: [
      'CHECK mallory_checked_x_check of table public.mallory_checked calls public.mallory_ok(integer), owned by mallory | ALTER TABLE public.mallory_checked DROP CONSTRAINT mallory_checked_x_check',
      'CHECK mallory_int_check of domain public.mallory_int calls public.mallory_ok(integer), owned by mallory | ALTER DOMAIN public.mallory_int DROP CONSTRAINT mallory_int_check',
      'CHECK mallory_op_x_check of table public.mallory_op calls public.mallory_same(integer,integer), owned by mallory | ALTER TABLE public.mallory_op DROP CONSTRAINT mallory_op_x_check',
      'generated column public.mallory_generated.y calls public.mallory_gen(integer), owned by mallory | ALTER TABLE public.mallory_generated ALTER COLUMN y DROP EXPRESSION',
      'partition key of table public.mallory_parts calls public.mallory_gen(integer), owned by mallory',
    ],
  });
  assert.is(await hostileRoleIsSuperuser(a.sql), false, 'reading the catalogs ran none of her functions');
});

test("a NOT VALID CHECK is left out (pg_dump adds it after the data, unchecked); so is one calling only pg_catalog's functions", async () => {
  await a.sql(
    'app1',
    `create function public.mine(int) returns boolean language sql as 'select true'; alter function public.mine(int) owner to mallory;
    create table public.plain (x int check (pg_catalog.abs(x) >= 0)); alter table public.plain add constraint later check (public.mine(x)) not valid`,
  );
  assert.equal(await loadCode(a, vb, ['app1']), { app1: [] });
  await a.sql('app1', 'drop table public.plain; drop function public.mine(int)');
});

test('the same text runs on 10, which has no generated columns (nor attgenerated)', async () => {
  const t = await server(10, 'hload-10');
  await t.s.sql(
    'postgres',
    `create role eve login; set role eve; create function public.eve_ok(int) returns boolean language sql as 'select true';
    create table public.eve_checked (x int check (public.eve_ok(x))); reset role`,
  );
  assert.equal(await loadCode(t.s, t.volume, ['postgres']), {
    postgres: [
      'CHECK eve_checked_x_check of table public.eve_checked calls public.eve_ok(integer), owned by eve | ALTER TABLE public.eve_checked DROP CONSTRAINT eve_checked_x_check',
    ],
  });
  await t.s.stop();
});

// Why the dump method refuses them: the plugin's own load, run regardless, makes her superuser on the target.
test("control: the plugin's load of her database, were it run, makes mallory superuser on the target", async () => {
  const globals = await runOn(
    [TO],
    vb,
    ['sh', '-c', DUMP_GLOBALS_SCRIPT, 'globals', '127.0.0.1', String(a.port), 'postgres'],
    {},
    psqlStdin(TEST_SUPERUSER_PASSWORD, []),
  );
  const rewritten = rewriteGlobals(globals, { superuser: 'postgres', existing: ['postgres'] });
  const args = dumpRestoreArgs({
    source: { host: '127.0.0.1', port: a.port, user: 'postgres' },
    target: { host: '127.0.0.1', port: b.port, user: 'postgres' },
    jobs: 1,
  });
  await runOn(
    [TO],
    vb,
    ['sh', '-c', DUMP_RESTORE_SCRIPT, 'dump', ...args],
    {},
    dumpRestoreStdin(TEST_SUPERUSER_PASSWORD, TEST_SUPERUSER_PASSWORD, rewritten.sql, ['mallorys']),
  );
  assert.is((await b.sql('mallorys', 'select count(*) from public.mallory_checked')).trim(), '5');
  assert.is((await b.sql('mallorys', 'select count(*) from public.mallory_parts')).trim(), '5');
  assert.is(await hostileRoleIsSuperuser(b.sql), true, "COPY evaluated her CHECK as the target's superuser");
  assert.is(await hostileRoleIsSuperuser(a.sql), false, 'the source is untouched');
});

// What the load runs that LOAD_CODE_SQL leaves out, on each target major in reach: an index expression and a
// materialized view calling her functions. CREATE INDEX and REFRESH run them as the table's owner, in a
// security-restricted operation, where is_superuser still says the session's: these traps ask who runs them.
const asSuperuser = (body: string) => `language plpgsql as $f$ begin
  if (select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user) then execute 'alter role mallory superuser'; end if;
  ${body}
end $f$`;
const OWNER_RUN = `set role mallory;
create function public.mallory_as_v(int) returns int ${asSuperuser('return $1;')};
create function public.mallory_as(int) returns int language plpgsql immutable as $f$ begin return public.mallory_as_v($1); end $f$;
create table public.mallory_indexed (x int); insert into public.mallory_indexed select g from generate_series(1, 5) g;
create index mallory_expr on public.mallory_indexed (public.mallory_as(x));
create materialized view public.mallory_mv as select public.mallory_as_v(x) as y from public.mallory_indexed;
reset role;`;
test('an index expression and a materialized view of hers are not among what the dump refuses', async () => {
  await a.sql('postgres', 'create database owner_run owner mallory');
  await a.sql('owner_run', `grant create on schema public to mallory; ${OWNER_RUN}`);
  assert.equal(await loadCode(a, vb, ['owner_run']), { owner_run: [] });
});

for (const to of [13, 14, 15, 16, 17, 18] as Major[]) {
  test(`index expressions and materialized views: the plugin's load into ${to} runs them as their owner, and mallory stays NOSUPERUSER`, async () => {
    const t = await server(to, `hload-${to}`);
    const args = dumpRestoreArgs({
      source: { host: '127.0.0.1', port: a.port, user: 'postgres' },
      target: { host: '127.0.0.1', port: t.s.port, user: 'postgres' },
      jobs: 1,
    });
    await runOn(
      [to],
      t.volume,
      ['sh', '-c', DUMP_RESTORE_SCRIPT, 'dump', ...args],
      {},
      dumpRestoreStdin(TEST_SUPERUSER_PASSWORD, TEST_SUPERUSER_PASSWORD, 'create role mallory login;', ['owner_run']),
    );
    assert.is(
      (await t.s.sql('owner_run', 'select pg_catalog.sum(y) from public.mallory_mv')).trim(),
      '15',
      'the view was refreshed',
    );
    assert.is(await hostileRoleIsSuperuser(t.s.sql), false);
    await t.s.stop();
  });
}

test('control: a partition key alone of hers, loaded by the plugin into a fresh target, makes her superuser too', async () => {
  await a.sql('postgres', 'create database parts_only owner mallory');
  await a.sql(
    'parts_only',
    `grant create on schema public to mallory; set role mallory;
    create function public.v(int) returns int ${asSuperuser('return $1;').replace('(select r.rolsuper from pg_catalog.pg_roles r where r.rolname = current_user)', "pg_catalog.current_setting('is_superuser') = 'on'")};
    create function public.k(int) returns int language plpgsql immutable as $f$ begin return public.v($1); end $f$;
    create table public.p (x int) partition by range (public.k(x)); create table public.p1 partition of public.p for values from (0) to (100);
    insert into public.p select generate_series(1, 5); reset role`,
  );
  assert.equal(await loadCode(a, vb, ['parts_only']), {
    parts_only: ['partition key of table public.p calls public.k(integer), owned by mallory'],
  });
  const t = await server(TO, 'hload-parts');
  const args = dumpRestoreArgs({
    source: { host: '127.0.0.1', port: a.port, user: 'postgres' },
    target: { host: '127.0.0.1', port: t.s.port, user: 'postgres' },
    jobs: 1,
  });
  await runOn(
    [TO],
    t.volume,
    ['sh', '-c', DUMP_RESTORE_SCRIPT, 'dump', ...args],
    {},
    dumpRestoreStdin(TEST_SUPERUSER_PASSWORD, TEST_SUPERUSER_PASSWORD, 'create role mallory login;', ['parts_only']),
  );
  assert.is(
    await hostileRoleIsSuperuser(t.s.sql),
    true,
    "the partition's constraint ran her function as the target's superuser",
  );
  assert.is(await hostileRoleIsSuperuser(a.sql), false);
  await t.s.stop();
});

test('control: the function of those traps, called by a superuser, does make her superuser', async () => {
  await a.sql('owner_run', 'select public.mallory_as_v(1)');
  assert.is(await hostileRoleIsSuperuser(a.sql), true);
  await a.sql('postgres', 'alter role mallory nosuperuser');
});

test.run();
