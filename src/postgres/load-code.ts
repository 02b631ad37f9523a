import type { DatabaseFacts, Objects } from './facts.ts';
import { objectsOf } from './facts.ts';
import { compact, objects } from './queries.ts';
import type { Finding } from './rules.ts';
import { objectsFound, withStatements } from './rules-objects.ts';

/**
 * What a logical load runs of a user's code, as the restoring role. pg_restore fills each table with COPY as the
 * session's role, the target's superuser, and COPY evaluates per row the table's CHECK constraints, the CHECKs of
 * the domains its columns are of, its stored generated columns, and the partition key of each partitioned table
 * above it (the partition's constraint); a function of a role who is not superuser
 * that they call (directly or through an operator) then runs as superuser, and may make her one (issue 24).
 * NOT VALID constraints are left out: pg_dump adds them after the data, unchecked. Index expressions, triggers,
 * foreign keys and materialized views are not here: they run as the table's owner, or are made after the data.
 * `pg_restore --use-set-session-authorization` (COPY as the owner) was measured and refused: it creates each
 * object as its owner before the ACL pass, so a non-superuser's table in `public` from 10-14 fails on 15+
 * ("permission denied for schema public"). The in-place methods never evaluate these expressions.
 */

// Expressions COPY evaluates: (what, the statement that removes it, and the object whose pg_depend rows name what
// it calls: catalog, oid, sub-id). A generated column's are the column's own (pg_class, table, attnum), or its
// default's on some releases: both are looked at. A partition key's are the partitioned table's own (no statement
// removes one: the table is made again). attgenerated comes through to_jsonb: 10 and 11 have no such
// column (nor generated columns), and one text serves 10 to 18.
const EVALUATED = `select case when c.contypid <> 0 then pg_catalog.format('CHECK %I of domain %I.%I', c.conname, tn.nspname, t.typname)
      else pg_catalog.format('CHECK %I of table %I.%I', c.conname, rn.nspname, r.relname) end as what,
    case when c.contypid <> 0 then pg_catalog.format('ALTER DOMAIN %I.%I DROP CONSTRAINT %I', tn.nspname, t.typname, c.conname)
      else pg_catalog.format('ALTER TABLE %I.%I DROP CONSTRAINT %I', rn.nspname, r.relname, c.conname) end as fix,
    'pg_catalog.pg_constraint'::pg_catalog.regclass as cls, c.oid as obj, 0 as sub
  from pg_catalog.pg_constraint c left join pg_catalog.pg_class r on r.oid = c.conrelid left join pg_catalog.pg_namespace rn on rn.oid = r.relnamespace
    left join pg_catalog.pg_type t on t.oid = c.contypid left join pg_catalog.pg_namespace tn on tn.oid = t.typnamespace
  where c.contype = 'c' and c.convalidated
  union all
  select pg_catalog.format('generated column %I.%I.%I', n.nspname, r.relname, a.attname),
    pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I DROP EXPRESSION', n.nspname, r.relname, a.attname),
    v.cls, v.obj, v.sub
  from pg_catalog.pg_attrdef ad join pg_catalog.pg_attribute a on a.attrelid = ad.adrelid and a.attnum = ad.adnum
    join pg_catalog.pg_class r on r.oid = ad.adrelid join pg_catalog.pg_namespace n on n.oid = r.relnamespace
    cross join lateral (values ('pg_catalog.pg_attrdef'::pg_catalog.regclass, ad.oid, 0), ('pg_catalog.pg_class'::pg_catalog.regclass, r.oid, a.attnum::pg_catalog.int4)) v(cls, obj, sub)
  where coalesce(pg_catalog.to_jsonb(a) operator(pg_catalog.->>) 'attgenerated', '') <> ''
  union all
  select pg_catalog.format('partition key of table %I.%I', n.nspname, r.relname), null, 'pg_catalog.pg_class'::pg_catalog.regclass, r.oid, 0
  from pg_catalog.pg_class r join pg_catalog.pg_namespace n on n.oid = r.relnamespace where r.relkind = 'p'`;

/** Each of those that calls a function owned by a role who is not superuser: name (what, the function, its owner) and fix. */
const CALLING = `select distinct pg_catalog.format('%s calls %s, owned by %I', x.what, p.oid::pg_catalog.regprocedure, o.rolname) as name, x.fix
  from (${EVALUATED}) x join pg_catalog.pg_depend d on d.classid = x.cls and d.objid = x.obj and d.objsubid = x.sub
    left join pg_catalog.pg_operator op on d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass and op.oid = d.refobjid
    join pg_catalog.pg_proc p on p.oid = case when d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass then d.refobjid else op.oprcode::pg_catalog.oid end
    join pg_catalog.pg_roles o on o.oid = p.proowner
  where not o.rolsuper`;

/** One database's expressions that a load would run as superuser, as objects JSON (the first 21, and the count). */
export const LOAD_CODE_SQL = compact(`select ${objects(CALLING)}`);

/** Parses LOAD_CODE_SQL's answer. */
export const parseLoadCode = (json: string): Objects => objectsOf(JSON.parse(json));

/**
 * --method dump's finding: FAIL when any database has such an expression, naming each (20 per database, then a
 * count) with the statement that removes it. Nothing when the facts were not asked for (another method).
 */
export function verifyLoadCode(databases: Map<string, DatabaseFacts> | undefined): Finding[] {
  if (!databases || ![...databases.values()].some((f) => f.loadCode)) return [];
  const title = 'The load runs no code of a non-superuser as superuser';
  const found = objectsFound(databases, (f) => f.loadCode);
  if (!found.found.length)
    return [
      {
        id: 'load-code',
        title,
        status: 'pass',
        found:
          'no CHECK, domain CHECK, generated column or partition key calls a function of a role who is not superuser',
      },
    ];
  return [
    {
      id: 'load-code',
      title,
      status: 'fail',
      found: `pg_restore would evaluate these per row as the new instance's superuser, running functions of roles who are not superusers: ${found.found.join('; ')}`,
      fix: withStatements(
        'upgrade in place (--method link or copy: pg_upgrade never evaluates them), or have their owners drop or replace them, then run again',
        found.fixes,
      ),
    },
  ];
}
