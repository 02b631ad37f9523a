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
  // A partition leaves and rejoins by DETACH and ATTACH (with its bound), an inheritance child by NO INHERIT and
  // INHERIT; 12 has no DROP EXPRESSION (the column is made anew there), nor does a child of several parents.
  return `select pg_catalog.format('%s.%I (a child of %s)', c.oid::pg_catalog.regclass, a.attname, i.inhparent::pg_catalog.regclass) as name,
    case when ${major} < 13 or (select pg_catalog.count(*) from pg_catalog.pg_inherits j where j.inhrelid = c.oid) > 1
      then pg_catalog.format('make %s.%I an ordinary column: add one, copy the values, drop the generated one', c.oid::pg_catalog.regclass, a.attname)
    when c.relispartition
      then pg_catalog.format('ALTER TABLE %2$s DETACH PARTITION %1$s; ALTER TABLE %1$s ALTER COLUMN %3$I DROP EXPRESSION; ALTER TABLE %2$s ATTACH PARTITION %1$s %4$s',
        c.oid::pg_catalog.regclass, i.inhparent::pg_catalog.regclass, a.attname, pg_catalog.pg_get_expr(c.relpartbound, c.oid))
    else pg_catalog.format('ALTER TABLE %1$s NO INHERIT %2$s; ALTER TABLE %1$s ALTER COLUMN %3$I DROP EXPRESSION; ALTER TABLE %1$s INHERIT %2$s',
      c.oid::pg_catalog.regclass, i.inhparent::pg_catalog.regclass, a.attname) end as fix
  from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhrelid
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated <> ''
  join pg_catalog.pg_attribute p on p.attrelid = i.inhparent and p.attname = a.attname and not p.attisdropped and p.attgenerated = ''
  where c.relpersistence <> 't' and not exists (select 1 from pg_catalog.pg_depend d
    where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = c.oid and d.deptype = 'e')`;
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
