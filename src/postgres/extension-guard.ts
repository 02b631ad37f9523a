/**
 * Which extension updates may run as superuser. PostgreSQL runs an extension's update script with search_path
 * set to the extension's schema (and those of the extensions it requires): when a non-superuser may create
 * objects there, or owns some, an unqualified call or operator in the script can resolve to her function and
 * run as superuser (the docs' "Security Considerations for Extensions"). Such an update is skipped and named,
 * with the statement to run once the user has looked; the others run. Pure text and parsers, no I/O.
 */

// The schemas an update script of extension `e` searches: its own, and those of the extensions it requires.
const SEARCHED = `select e.extnamespace union select r.extnamespace from pg_catalog.pg_depend d
    join pg_catalog.pg_extension r on r.oid = d.refobjid
    where d.classid = 'pg_catalog.pg_extension'::pg_catalog.regclass and d.objid = e.oid
      and d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass`;

// PUBLIC holds CREATE on schema s (grantee 0 in its ACL; a NULL ACL is the owner's alone).
const PUBLIC_CREATES = `exists (select 1 from pg_catalog.aclexplode(s.nspacl) g where g.grantee = 0 and g.privilege_type = 'CREATE')`;

const nonSuper = (owner: string) => `(select not r.rolsuper from pg_catalog.pg_roles r where r.oid = ${owner})`;

/**
 * What makes the schemas of extension `e` unsafe, as (ord, what) rows: PUBLIC's CREATE, else each non-superuser
 * role that may create there (pg_database_owner stands for the database's owner, who is listed on her own when
 * she is no superuser), then the functions, operators and types that a non-superuser owns there (not a table's
 * row type nor a type's implicit array: a table there came from a role that could create, or was given it).
 */
const OFFENDERS = `select 1 as ord, pg_catalog.format('PUBLIC may create objects in schema %I', s.nspname) as what
    from pg_catalog.pg_namespace s where s.oid in (${SEARCHED}) and ${PUBLIC_CREATES}
  union all select 2, pg_catalog.format('role %I may create objects in schema %I', r.rolname, s.nspname)
    from pg_catalog.pg_namespace s, pg_catalog.pg_roles r
    where s.oid in (${SEARCHED}) and not ${PUBLIC_CREATES} and not r.rolsuper and r.rolname <> 'pg_database_owner'
      and pg_catalog.has_schema_privilege(r.oid, s.oid, 'CREATE')
  union all select 3, pg_catalog.format('function %s owned by %I', p.oid::pg_catalog.regprocedure, pg_catalog.pg_get_userbyid(p.proowner))
    from pg_catalog.pg_proc p where p.pronamespace in (${SEARCHED}) and ${nonSuper('p.proowner')}
  union all select 4, pg_catalog.format('operator %s owned by %I', o.oid::pg_catalog.regoperator, pg_catalog.pg_get_userbyid(o.oprowner))
    from pg_catalog.pg_operator o where o.oprnamespace in (${SEARCHED}) and ${nonSuper('o.oprowner')}
  union all select 5, pg_catalog.format('type %s owned by %I', t.oid::pg_catalog.regtype, pg_catalog.pg_get_userbyid(t.typowner))
    from pg_catalog.pg_type t where t.typnamespace in (${SEARCHED}) and ${nonSuper('t.typowner')}
      and (t.typrelid = 0 or (select c.relkind from pg_catalog.pg_class c where c.oid = t.typrelid) = 'c')
      and not exists (select 1 from pg_catalog.pg_type b where b.typarray = t.oid)`;

/** The most offenders named per extension; the count says how many in all. */
export const OFFENDERS_SHOWN = 20;

/**
 * Per extension of this database that ALTER EXTENSION … UPDATE would move (the target's default version is not
 * the installed one: what pg_upgrade's update_extensions.sql and --update-extensions update): its name, schema,
 * the first offenders and how many in all (0: safe to update as superuser). Every function and catalog is
 * qualified with pg_catalog (the sessions also run with search_path=pg_catalog, so operators resolve there).
 */
export const EXTENSION_UPDATES_SQL = `select e.extname, n.nspname as schema, x.total, x.offenders
  from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
  join pg_catalog.pg_available_extensions a on a.name = e.extname
  cross join lateral (select pg_catalog.count(*)::pg_catalog.int4 as total,
      coalesce(pg_catalog.array_agg(o.what order by o.ord, o.what) filter (where o.rn <= ${OFFENDERS_SHOWN}), '{}') as offenders
    from (select q.*, pg_catalog.row_number() over (order by q.ord, q.what) as rn from (${OFFENDERS}) q) o) x
  where a.default_version is not null and a.default_version <> e.extversion`;

/** The mark before the JSON array of skipped extensions that GUARDED_UPDATE_SQL prints, one line per database. */
export const SKIPPED_MARK = 'pgupgrade-skipped-extensions';

/**
 * Updates each extension of this database whose schemas are safe, and prints `SKIPPED_MARK [json]` naming the
 * others. One transaction per database. The function lives in the session's own pg_temp, so nothing stays.
 * Its loop variable takes a name that no alias of the query does (plpgsql would read `r.x` there as its own).
 * No `:name` outside quotes: psql reads this text too (update_extensions.sql's stand-in), and would expand it.
 */
export const GUARDED_UPDATE_SQL = `create function pg_temp.pgupgrade_update_extensions() returns text language plpgsql as $pgupgrade$
declare pgupgrade_ext record; skipped jsonb := '[]';
begin
  for pgupgrade_ext in ${EXTENSION_UPDATES_SQL} loop
    if pgupgrade_ext.total > 0 then
      skipped := skipped operator(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('database', pg_catalog.current_database(),
        'extension', pgupgrade_ext.extname, 'schema', pgupgrade_ext.schema, 'offenders', pgupgrade_ext.offenders, 'total', pgupgrade_ext.total));
    else
      execute pg_catalog.format('alter extension %I update', pgupgrade_ext.extname);
    end if;
  end loop;
  return '${SKIPPED_MARK} ' operator(pg_catalog.||) skipped::pg_catalog.text;
end $pgupgrade$;
select pg_temp.pgupgrade_update_extensions();`;

/** An extension update that was skipped, and why. */
export interface SkippedExtension {
  database: string;
  extension: string;
  schema: string;
  /** The first OFFENDERS_SHOWN offenders, and how many in all. */
  offenders: string[];
  total: number;
}

/** The skipped extensions in output that holds GUARDED_UPDATE_SQL's lines (other lines are ignored). */
export function parseSkipped(out: string): SkippedExtension[] {
  const all: SkippedExtension[] = [];
  for (const line of out.split('\n')) {
    const at = line.indexOf(`${SKIPPED_MARK} [`);
    if (at >= 0) all.push(...(JSON.parse(line.slice(at + SKIPPED_MARK.length + 1)) as SkippedExtension[]));
  }
  return all;
}

/** An SQL identifier, always double-quoted. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The statement that updates `s` by hand. */
export const updateStatement = (s: { extension: string }): string =>
  `ALTER EXTENSION ${quoteIdent(s.extension)} UPDATE;`;

/** What was found in `s`'s schemas: the offenders shown, then how many more. */
export function offendersText(s: { offenders: string[]; total: number }): string {
  const more = s.total - s.offenders.length;
  return `${s.offenders.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
}

/** One skipped update, said whole: which extension, where, why, and what to run once it is checked. */
export function skippedText(s: SkippedExtension): string {
  return (
    `extension ${s.extension} in database ${s.database} (schema ${s.schema}) was not updated: its update script runs as superuser ` +
    `with search_path ${s.schema}, where non-superusers can put code: ${offendersText(s)}. Check those (remove them, revoke CREATE), ` +
    `then run in database ${s.database}: ${updateStatement(s)}`
  );
}

/**
 * Shell: `guarded_updates FILE SQL` prints pg_upgrade's update_extensions.sql for psql with each database's
 * ALTER EXTENSION lines replaced by SQL (GUARDED_UPDATE_SQL, an argument: values never enter the text). Its
 * `\connect` lines stay as pg_upgrade wrote them: each name quoted for psql, on one line (pg_upgrade refuses a
 * database name with a line break).
 */
export const GUARDED_UPDATES_SH = `guarded_updates() {
  while IFS= read -r l; do case $l in '\\connect '*) printf '%s\\n' "$l" "$2" ;; esac; done < "$1"
}`;
