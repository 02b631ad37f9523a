import type { DatabaseFacts } from './facts.ts';
import type { Finding } from './rules.ts';
import { objectsFound, withStatements } from './rules-objects.ts';

/**
 * Functions that the restore of the schema runs with an empty search_path. pg_dump's output (pg_upgrade's and the
 * dump method's alike) sets search_path to '' before it creates anything. In place, pg_upgrade makes each index on
 * an empty table, but planning its expressions inlines a SQL function's body there: a body that names a table,
 * type or function without its schema (earthdistance's ll_to_earth() calls cube() and earth() so) fails, and the
 * restore with it, inside the downtime, although pg_upgrade --check passed. By dump, the indexes are built and the
 * CHECK constraints checked on the loaded rows, so PL/pgSQL bodies run there too. A function with its own
 * `SET search_path` (never inlined), or a SQL-standard body (BEGIN ATOMIC, 14+: resolved when it was made), is
 * safe; the body itself is not parsed, so each one is named for its owner to look at.
 */
/** The statement that pins a function's search_path to its own schema. */
const PIN = `pg_catalog.format('ALTER FUNCTION %s SET search_path = %I, pg_catalog', p.oid::pg_catalog.regprocedure, fn.nspname)`;

export function calledSql(dump: boolean): string {
  const constraints = dump
    ? `union all
      select 'constraint', pg_catalog.format('%I on %s', k.conname, case when k.conrelid <> 0 then k.conrelid::pg_catalog.regclass::pg_catalog.text else k.contypid::pg_catalog.regtype::pg_catalog.text end),
        'pg_catalog.pg_constraint'::pg_catalog.regclass, k.oid
        from pg_catalog.pg_constraint k where k.contype = 'c'`
    : '';
  // An extension's own function is made anew by CREATE EXTENSION on a load, without the setting.
  const fix = dump
    ? `case when x.ext then pg_catalog.format('%s belongs to an extension, which the load makes anew without any setting: upgrade in place, or update the extension to a version that qualifies its names', p.oid::pg_catalog.regprocedure)
        else ${PIN} end`
    : `${PIN}`;
  return `select distinct pg_catalog.format('%s %s calls %s', w.what, w.name, p.oid::pg_catalog.regprocedure) as name, ${fix} as fix
  from (select 'index' as what, pg_catalog.format('%I.%I', n.nspname, c.relname) as name, 'pg_catalog.pg_class'::pg_catalog.regclass as cls, c.oid as obj
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.relkind in ('i', 'I')
      ${constraints}) w
    join pg_catalog.pg_depend d on d.classid = w.cls and d.objid = w.obj and d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
    join pg_catalog.pg_proc p on p.oid = d.refobjid
    join pg_catalog.pg_namespace fn on fn.oid = p.pronamespace
    join pg_catalog.pg_language l on l.oid = p.prolang
    cross join lateral (select exists (select 1 from pg_catalog.pg_depend e where e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
      and e.objid = p.oid and e.deptype = 'e') as ext) x
  where l.lanname in (${dump ? "'sql', 'plpgsql'" : "'sql'"}) and fn.nspname <> 'pg_catalog'
    and (pg_catalog.to_jsonb(p) operator(pg_catalog.->>) 'prosqlbody') is null
    and not exists (select 1 from pg_catalog.unnest(p.proconfig) s where s operator(pg_catalog.~~) 'search_path=%')`;
}

/** The finding: a WARN naming each (the first 20 per database) with the statement that pins its search_path. */
export function verifyPathFunctions(databases: Map<string, DatabaseFacts> | undefined, method: string): Finding[] {
  if (!databases || ![...databases.values()].some((f) => f.pathFunctions)) return [];
  const title = "The schema's restore runs no function that needs a search_path";
  const found = objectsFound(databases, (f) => f.pathFunctions);
  if (!found.found.length)
    return [
      {
        id: 'path-functions',
        title,
        status: 'pass',
        found:
          method === 'dump'
            ? 'no index or CHECK constraint calls a SQL or PL/pgSQL function without its own search_path'
            : 'no index calls a SQL function without its own search_path',
      },
    ];
  const how =
    method === 'dump'
      ? 'the load builds these indexes and checks these constraints on the loaded rows with an empty search_path'
      : "pg_upgrade's restore makes these indexes with an empty search_path, inlining the function's body there";
  return [
    {
      id: 'path-functions',
      title,
      status: 'warn',
      found: `${how}, and fails inside the downtime if a function names anything without its schema: ${found.found.join('; ')}`,
      fix: withStatements(
        method === 'dump'
          ? "schema-qualify what the function's body names, or pin its search_path, then run check again"
          : "schema-qualify what the function's body names, or pin its search_path; upgrade --rehearse runs the real restore on a clone, before any downtime",
        found.fixes,
      ),
    },
  ];
}
