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

/** PGOPTIONS for a superuser session: the safe search_path, no role but the login's, then the given options (`-c jit=off`). */
export function sessionOptions(...more: string[]): string {
  return [SAFE_SEARCH_PATH, NO_ROLE, ...more].join(' ');
}

/** Shell that exports PGOPTIONS with the safe search_path and no role, for scripts whose tools take no other option. */
export const SAFE_SESSION_SH = `export PGOPTIONS='${sessionOptions()}'`;
