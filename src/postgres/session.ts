/**
 * What every session the plugin opens as superuser starts with. A role that may create objects in a schema on
 * the search_path (`public`, on 10 to 14 everyone) can put a function or operator there that matches an argument
 * better than pg_catalog's (`public.quote_ident(name)` beats `pg_catalog.quote_ident(text)` for a `name`, whatever
 * the path's order: the CVE-2018-1058 pattern), and a superuser session that resolves it runs the role's code.
 * With only pg_catalog on the path, nothing a user owns is ever resolved by name: the plugin's constant SQL finds
 * pg_catalog's objects, and user objects are only reached schema-qualified (`%I.%I`). Command-line options win
 * over ALTER DATABASE and ALTER ROLE settings, so a database owner cannot put `public` back.
 */
export const SAFE_SEARCH_PATH = '-c search_path=pg_catalog';

/**
 * A database's owner, superuser or not, may `ALTER DATABASE … SET role = <any role>`: every session that connects
 * there then runs as that role, a superuser's too (its fingerprint, pg_dump, vacuumdb and ALTER EXTENSION would
 * fail or see less, as her). `role=none` on the command line wins over it: the session stays its login role.
 */
export const NO_ROLE = '-c role=none';

/** PGOPTIONS for a superuser session: the safe search_path, no role but the login's, then the given options. */
export function sessionOptions(...more: string[]): string {
  return [SAFE_SEARCH_PATH, NO_ROLE, ...more].join(' ');
}

/** Shell that exports PGOPTIONS with the safe search_path and no role, for scripts whose tools take no other option. */
export const SAFE_SESSION_SH = `export PGOPTIONS='${sessionOptions()}'`;

/**
 * JIT off for the session, where the server has JIT (11 on): compiling a fingerprint's scans costs more than it
 * saves, and an image without its LLVM library would fail them. Not by PGOPTIONS, which a 10 server refuses at
 * connect (an unknown parameter there is FATAL): set by a query whose result psql sends nowhere. `JIT_OFF_PSQL_ARGS`
 * are psql arguments put before the `-c` of the work, `JIT_OFF_PSQL_LINES` psql input lines (for a printf format:
 * its backslashes doubled).
 */
const JIT_OFF_SQL =
  'select pg_catalog.set_config($$jit$$, $$off$$, false) from pg_catalog.pg_settings where name operator(pg_catalog.=) $$jit$$';
export const JIT_OFF_PSQL_ARGS = `-c '\\o /dev/null' -c '${JIT_OFF_SQL}' -c '\\o'`;
export const JIT_OFF_PSQL_LINES = `\\\\o /dev/null\\n${JIT_OFF_SQL};\\n\\\\o\\n`;
