import { objectsOf, type Objects } from './facts.ts';
import { calledSql } from './path-functions.ts';
import { compact, objects } from './queries.ts';

/**
 * Child tables that compute a column their parent stores plainly (a generated column under an ordinary one). 16
 * refuses them, so the restore of the schema into 16 or later fails on them, inside the downtime: pg_upgrade's
 * (its --check passes them) and the dump's alike. 10 and 11 have no generated columns: none there.
 */
export function generatedChildrenSql(major: number): string {
  if (major < 12) return `select null::pg_catalog.text as name, null::pg_catalog.text as fix where false`;
  return `select pg_catalog.format('%s.%I (a child of %s)', c.oid::pg_catalog.regclass, a.attname, i.inhparent::pg_catalog.regclass) as name,
    pg_catalog.format('ALTER TABLE %1$s NO INHERIT %2$s; ALTER TABLE %1$s ALTER COLUMN %3$I DROP EXPRESSION; ALTER TABLE %1$s INHERIT %2$s',
      c.oid::pg_catalog.regclass, i.inhparent::pg_catalog.regclass, a.attname) as fix
  from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhrelid
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated <> ''
  join pg_catalog.pg_attribute p on p.attrelid = i.inhparent and p.attname = a.attname and not p.attisdropped and p.attgenerated = ''`;
}

/**
 * One database's objects that break the restore of its schema after every check of pg_upgrade passed: the
 * functions it runs with an empty search_path (path-functions.ts) and the generated children, as one JSON object
 * (a query of its own: DATABASE_SQL travels in the exec's URL, which has room for no more). `dump`: --method
 * dump's restore; `major`: the source's.
 */
export const restoreTrapsSql = (dump: boolean, major: number): string =>
  compact(`select pg_catalog.json_build_object('path_functions', ${objects(calledSql(dump))},
    'generated_children', ${objects(generatedChildrenSql(major))})`);

/** Parses restoreTrapsSql's answer. */
export function parseRestoreTraps(json: string): { pathFunctions: Objects; generatedChildren: Objects } {
  const r = JSON.parse(json) as Record<string, unknown>;
  return { pathFunctions: objectsOf(r.path_functions), generatedChildren: objectsOf(r.generated_children) };
}
