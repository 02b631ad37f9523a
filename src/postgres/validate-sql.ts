/**
 * What `validate` asks the upgraded server, and the repairs it runs when a flag asks for one, as SQL text. Names
 * never enter the text: per-database statements run in each database in turn (src/server/psql.ts psqlEach), and
 * object names are quoted by the server itself (format('%I')). Every function, catalog, type and operator whose
 * operands could match a role's own (`||`, `~`, `!~`, LIKE's `~~`) is pg_catalog's: the sessions are superuser.
 * Equality against an untyped literal or between operands of one type is left bare (pg_catalog's exact match wins).
 */
import { compact } from './queries.ts';
import { EXTENSION_UPDATES_SQL, GUARDED_UPDATE_SQL } from './extension-guard.ts';

const HASH_KIND = `case when rolpassword is null then 'none' when rolpassword operator(pg_catalog.~~) 'md5%' then 'md5'
    when rolpassword operator(pg_catalog.~~) 'SCRAM-SHA-256$%' then 'scram-sha-256' else 'other' end`;

/** The server's major, its roles (the kind of hash only, never the hash) and its databases; asked of `postgres`. */
export const VALIDATE_CLUSTER_SQL = `select pg_catalog.json_build_object(
 'version_num', pg_catalog.current_setting('server_version_num')::pg_catalog.int4,
 'roles', (select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', rolname, 'login', rolcanlogin, 'hash', ${HASH_KIND},
    'expired', coalesce(rolvaliduntil < pg_catalog.now(), false)) order by rolname), '[]') from pg_catalog.pg_authid where rolname operator(pg_catalog.!~) '^pg_'),
 'databases', (select pg_catalog.json_agg(pg_catalog.json_build_object('name', datname, 'allow', datallowconn) order by datname) from pg_catalog.pg_database)
)`;

// Collations whose recorded version is not the library's, in the encoding of this database.
const BAD_COLLATIONS = `select c.oid, pg_catalog.format('%I.%I', n.nspname, c.collname) as name, c.collversion as recorded,
    pg_catalog.pg_collation_actual_version(c.oid) as actual
  from pg_catalog.pg_collation c join pg_catalog.pg_namespace n on n.oid = c.collnamespace
  where c.collversion is not null and c.collencoding in (-1, (select encoding from pg_catalog.pg_database where datname = pg_catalog.current_database()))
    and c.collversion is distinct from pg_catalog.pg_collation_actual_version(c.oid)`;

// The database's own collation (15 and later record its version): its recorded and actual versions.
const DB_COLLATION = `select datcollversion as recorded, pg_catalog.pg_database_collation_actual_version(oid) as actual
  from pg_catalog.pg_database where datname = pg_catalog.current_database()`;

/** True (SQL) when the database's recorded collation version is not the library's; never on 14 and older. */
const dbMismatch = (major: number) =>
  major >= 15
    ? `exists (select 1 from (${DB_COLLATION}) d where d.recorded is not null and d.recorded is distinct from d.actual)`
    : 'false';

/**
 * The user indexes that depend on a mismatched collation: one of their key columns (or expressions) uses it, or
 * uses the database's default collation (oid 100) when that one is mismatched.
 */
const affectedIndexes = (major: number) => `select distinct pg_catalog.format('%I.%I', n.nspname, ic.relname) as name
  from pg_catalog.pg_index i join pg_catalog.pg_class ic on ic.oid = i.indexrelid join pg_catalog.pg_namespace n on n.oid = ic.relnamespace
  where n.nspname not in ('pg_catalog', 'information_schema') and ic.relpersistence <> 't'
    and exists (select 1 from pg_catalog.unnest(i.indcollation::pg_catalog.oid[]) u(o)
      where u.o in (select oid from (${BAD_COLLATIONS}) b) or (u.o = 100 and ${dbMismatch(major)}))`;

/**
 * What else depends on a mismatched collation: a partitioned table whose key uses it (rows may now belong to
 * another range), and a CHECK constraint that names it (the default collation's users are not recorded there).
 */
const affectedOthers = (
  major: number,
) => `select pg_catalog.format('partition key of %I.%I', n.nspname, c.relname) as name
  from pg_catalog.pg_partitioned_table p join pg_catalog.pg_class c on c.oid = p.partrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where exists (select 1 from pg_catalog.unnest(p.partcollation::pg_catalog.oid[]) u(o)
    where u.o in (select oid from (${BAD_COLLATIONS}) b) or (u.o = 100 and ${dbMismatch(major)}))
  union select pg_catalog.format('constraint %I on %I.%I', k.conname, n.nspname, c.relname)
  from pg_catalog.pg_constraint k join pg_catalog.pg_class c on c.oid = k.conrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where k.contype = 'c' and exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
    and d.objid = k.oid and d.refclassid = 'pg_catalog.pg_collation'::pg_catalog.regclass and d.refobjid in (select oid from (${BAD_COLLATIONS}) b))`;

/**
 * One database's facts, one JSON object: the writes each table has had since its statistics began (the server's
 * own counters, which pg_upgrade does not carry, so they start with the new cluster), when those counters were
 * last reset, the tables with rows but no planner statistics, extensions older than the target's default (and
 * those of them whose update is not safe to run as superuser: extension-guard.ts), mismatched collations and the indexes, partition keys and constraints that depend on them.
 */
export function validateDatabaseSql(major: number): string {
  return compact(`select pg_catalog.json_build_object(
 'writes', (select coalesce(pg_catalog.json_object_agg(name, n), '{}') from (
    select pg_catalog.format('%I.%I', schemaname, relname) as name, n_tup_ins + n_tup_upd + n_tup_del as n
      from pg_catalog.pg_stat_all_tables where (schemaname not in ('pg_catalog', 'information_schema') and schemaname operator(pg_catalog.!~) '^pg_toast')
        or relname = 'pg_largeobject'
    union all select pg_catalog.format('%I.%I', n.nspname, c.relname), (select coalesce(pg_catalog.sum(s.n_tup_ins + s.n_tup_upd + s.n_tup_del), 0)
      from pg_catalog.pg_partition_tree(c.oid) p join pg_catalog.pg_stat_all_tables s on s.relid = p.relid)
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.relkind = 'p') w),
 'stats_reset', (select greatest(d.stats_reset, b.stats_reset) from pg_catalog.pg_stat_database d, pg_catalog.pg_stat_bgwriter b
    where d.datname = pg_catalog.current_database()),
 'no_stats', (select coalesce(pg_catalog.json_agg(name order by name), '[]') from (
    select pg_catalog.format('%I.%I', n.nspname, c.relname) as name from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'm') and c.relpersistence <> 't' and n.nspname not in ('pg_catalog', 'information_schema')
      and n.nspname operator(pg_catalog.!~) '^pg_(toast|temp)' and not exists (select 1 from pg_catalog.pg_statistic s where s.starelid = c.oid)
      and (pg_catalog.xpath('/row/e/text()', pg_catalog.query_to_xml(pg_catalog.format('select exists (select from %I.%I) as e', n.nspname, c.relname),
        false, true, '')))[1]::pg_catalog.text = 'true') t),
 'extensions', (select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', e.extname, 'installed', e.extversion, 'default', a.default_version)
    order by e.extname), '[]')
    from pg_catalog.pg_extension e left join pg_catalog.pg_available_extensions a on a.name = e.extname where a.default_version is distinct from e.extversion),
 'extension_risks', (select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('extension', u.extname, 'schema', u.schema, 'offenders', u.offenders, 'total', u.total)
    order by u.extname), '[]') from (${EXTENSION_UPDATES_SQL}) u where u.total operator(pg_catalog.>) 0),
 'collations', (select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', name, 'recorded', recorded, 'actual', actual) order by name), '[]')
    from (${BAD_COLLATIONS}) b),
 'database_collation', ${major >= 15 ? `(select pg_catalog.json_build_object('recorded', recorded, 'actual', actual) from (${DB_COLLATION}) d)` : 'null'},
 'collation_indexes', (select coalesce(pg_catalog.json_agg(name order by name), '[]') from (${affectedIndexes(major)}) x),
 'collation_others', (select coalesce(pg_catalog.json_agg(name order by name), '[]') from (${affectedOthers(major)}) x)
)`);
}

/**
 * `--update-extensions`: ALTER EXTENSION … UPDATE for each extension older than the default, in this database,
 * but for those whose schemas non-superusers can write: those are named (extension-guard.ts), not updated.
 */
export const UPDATE_EXTENSIONS_SQL = GUARDED_UPDATE_SQL;

/**
 * `--reindex-collations`: reindexes the indexes that depend on a mismatched collation, then records the
 * library's version (ALTER COLLATION … REFRESH VERSION, ALTER DATABASE … REFRESH COLLATION VERSION), in one
 * transaction per database: the version is recorded only once its indexes are rebuilt.
 */
export function refreshCollationsSql(major: number): string {
  return `do $pgupgrade$ declare r record; begin
  for r in ${affectedIndexes(major)} loop execute 'reindex index ' operator(pg_catalog.||) r.name; end loop;
  for r in select name from (${BAD_COLLATIONS}) b loop execute pg_catalog.format('alter collation %s refresh version', r.name); end loop;
  ${major >= 15 ? `if ${dbMismatch(major)} then execute pg_catalog.format('alter database %I refresh collation version', pg_catalog.current_database()); end if;` : ''}
end $pgupgrade$`;
}

/**
 * `--amcheck`: bt_index_check on every valid B-tree index outside the catalogs (user objects: oid 16384 and up; their toast indexes included), each
 * in a subtransaction of its own so that one broken index is reported and the others still checked. When
 * amcheck is not installed it is created and dropped inside the same transaction, so nothing stays behind even
 * if the session ends half-way. Answers a JSON array of {index, ok, error}.
 */
export const AMCHECK_SQL = `create function pg_temp.pgupgrade_amcheck() returns pg_catalog.json language plpgsql as $pgupgrade$
declare s pg_catalog.text; created pg_catalog.bool := false; r record; res pg_catalog.jsonb := '[]'; err pg_catalog.text;
begin
  select n.nspname into s from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace where e.extname = 'amcheck';
  if s is null then
    create extension amcheck; created := true;
    select n.nspname into s from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace where e.extname = 'amcheck';
  end if;
  for r in select c.oid, pg_catalog.format('%I.%I', n.nspname, c.relname) as name
      from pg_catalog.pg_index i join pg_catalog.pg_class c on c.oid = i.indexrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        join pg_catalog.pg_am a on a.oid = c.relam
      where a.amname = 'btree' and i.indisvalid and i.indisready and c.relpersistence <> 't' and c.oid >= 16384 order by 2 loop
    begin
      execute pg_catalog.format('select %I.bt_index_check($1::pg_catalog.regclass)', s) using r.oid;
      res := res operator(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('index', r.name, 'ok', true));
    exception when others then
      get stacked diagnostics err = message_text;
      res := res operator(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('index', r.name, 'ok', false, 'error', err));
    end;
  end loop;
  if created then drop extension amcheck; end if;
  return res::pg_catalog.json;
end $pgupgrade$;
select pg_temp.pgupgrade_amcheck()`;
