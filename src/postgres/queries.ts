import { CONFIG_PATHS_SQL } from './config-paths.ts';
import { TABLESPACES_SQL } from './tablespaces.ts';

/**
 * What `check` asks a running server and a data volume, as constant SQL and shell text. Names never enter the
 * text: they travel as positional arguments or on stdin, so nothing has to be escaped and the password never
 * reaches a command line (the apiserver's audit log records exec command lines).
 */

/**
 * Cluster-wide facts, one JSON object. Rows come through to_jsonb so the same text serves 10 to 18. Like all of
 * this module's SQL (superuser sessions), every function, catalog, type and operator that a role's own could
 * match (`||`, `-`, `->>`, `~`, `!~`, LIKE's `~~`) is pg_catalog's.
 */
export const SERVER_SQL = `select pg_catalog.json_build_object(
 'version_num', pg_catalog.current_setting('server_version_num')::pg_catalog.int4,
 'version', pg_catalog.current_setting('server_version'),
 'install_user', (select rolname from pg_catalog.pg_authid where oid = 10),
 'data_directory', pg_catalog.current_setting('data_directory'),
 'checksums', pg_catalog.current_setting('data_checksums'),
 'wal_segment_size', pg_catalog.current_setting('wal_segment_size'),
 'password_encryption', pg_catalog.current_setting('password_encryption'),
 'shared_preload_libraries', pg_catalog.current_setting('shared_preload_libraries'),
 'databases', (select pg_catalog.json_agg((pg_catalog.to_jsonb(d) operator(pg_catalog.-) 'datacl') operator(pg_catalog.||) pg_catalog.jsonb_build_object(
    'encoding_name', pg_catalog.pg_encoding_to_char(d.encoding), 'size', pg_catalog.pg_database_size(d.oid)) order by d.datname) from pg_catalog.pg_database d),
 'roles', (select pg_catalog.json_agg(pg_catalog.json_build_object('name', rolname, 'login', rolcanlogin, 'hash',
    case when rolpassword is null then 'none' when rolpassword operator(pg_catalog.~~) 'md5%' then 'md5'
         when rolpassword operator(pg_catalog.~~) 'SCRAM-SHA-256$%' then 'scram' else 'other' end) order by rolname) from pg_catalog.pg_authid),
 'hba', (select pg_catalog.json_agg(pg_catalog.json_build_object('line', line_number, 'type', type, 'database', database, 'users', user_name,
    'method', auth_method)) from pg_catalog.pg_hba_file_rules where error is null),
 'prepared', (select pg_catalog.count(*) from pg_catalog.pg_prepared_xacts),
 'lock_table', pg_catalog.json_build_object('max_locks', pg_catalog.current_setting('max_locks_per_transaction')::pg_catalog.int4,
    'connections', pg_catalog.current_setting('max_connections')::pg_catalog.int4,
    'prepared', pg_catalog.current_setting('max_prepared_transactions')::pg_catalog.int4,
    'autovacuum', pg_catalog.current_setting('autovacuum_max_workers')::pg_catalog.int4,
    'workers', pg_catalog.current_setting('max_worker_processes')::pg_catalog.int4,
    'senders', pg_catalog.current_setting('max_wal_senders')::pg_catalog.int4),
 'slots', (select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', slot_name, 'type', slot_type, 'database', database)), '[]')
    from pg_catalog.pg_replication_slots),
 'config_paths', ${CONFIG_PATHS_SQL},
 'tablespaces', ${TABLESPACES_SQL},
 'clients', (select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('user', usename, 'database', datname, 'application', application_name,
    'address', pg_catalog.host(client_addr))), '[]') from pg_catalog.pg_stat_activity
    where backend_type = 'client backend' and pid <> pg_catalog.pg_backend_pid())
)`;

// User columns: of tables, materialized views and partitioned tables outside the system schemas.
const COLUMNS = `pg_catalog.pg_attribute a join pg_catalog.pg_class c on c.oid = a.attrelid join pg_catalog.pg_namespace n on n.oid = c.relnamespace`;
const USER_COLUMN = `a.attnum > 0 and not a.attisdropped and c.relkind in ('r', 'm', 'p')
      and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname operator(pg_catalog.!~) '^pg_toast'`;
const COLUMN_NAME = `pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname)`;
/** `ALTER TABLE s.t ALTER COLUMN c <action>`, quoted by the server; none for a materialized view. */
const alterColumn = (action: string) =>
  `case when c.relkind <> 'm' then pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I ${action}', n.nspname, c.relname, a.attname) end`;

// The JSON of one kind of objects from rows z(name, fix, n: how many in all, r: rank by name): the first 21.
const OBJECTS_JSON = `pg_catalog.json_build_object('count', coalesce(pg_catalog.max(z.n), 0), 'items', coalesce(pg_catalog.json_agg(
    pg_catalog.json_build_object('name', z.name, 'fix', z.fix) order by z.name) filter (where z.r <= 21), '[]'))`;
/** Ranks the rows of `q` (name, fix, and `part` if given) by name, each with the count of its kind. */
const ranked = (
  q: string,
  part = '',
) => `select q.*, pg_catalog.count(*) over (${part ? `partition by q.${part}` : ''}) as n,
    pg_catalog.row_number() over (${part ? `partition by q.${part} ` : ''}order by q.name) as r from (${q}) q`;

/**
 * Objects of one kind as JSON: how many in all, and the first 21 by name (the report shows 20, then a count),
 * each with the statement that fixes it. `q` selects `name` and `fix`; it runs once.
 */
export const objects = (q: string): string => `(select ${OBJECTS_JSON} from (${ranked(q)}) z)`;

// The user columns of the built-in types that a later major dropped or stores differently, each with the type
// to ALTER it to (by name: some exist only on older majors), as { type: objects }.
const TYPE_COLUMNS = `(select coalesce(pg_catalog.json_object_agg(y.typ, y.o), '{}') from (select z.typ, ${OBJECTS_JSON} as o from (${ranked(
  `select x.typ,
    ${COLUMN_NAME} as name, case when x.target is not null and c.relkind <> 'm' then pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I TYPE %s',
      n.nspname, c.relname, a.attname, x.target) end as fix
    from ${COLUMNS} join pg_catalog.pg_type t on t.oid = a.atttypid join (values ('abstime', 'timestamptz'), ('reltime', 'interval'),
      ('tinterval', null), ('sql_identifier', 'text'), ('aclitem', 'text')) x(typ, target) on x.typ = t.typname::pg_catalog.text
    where ${USER_COLUMN} and t.typnamespace in (select oid from pg_catalog.pg_namespace where nspname in ('pg_catalog', 'information_schema'))`,
  'typ',
)}) z group by z.typ) y)`;

/**
 * The SQL with every run of whitespace as one space: it travels in the exec's URL, where a line break and each
 * indenting space cost three bytes (none of its literals holds two spaces or a line break).
 */
export const compact = (sql: string): string => sql.replace(/\s+/g, ' ');

/**
 * Facts of one database that pg_upgrade cares about, one JSON object. Every function and catalog is qualified
 * with pg_catalog: the plugin's sessions are superuser, and a role's function in public must never be resolved.
 */
export const DATABASE_SQL = compact(`select pg_catalog.json_build_object(
 'extensions', (select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', extname, 'version', extversion) order by extname), '[]') from pg_catalog.pg_extension),
 'relations', (select pg_catalog.count(*) from pg_catalog.pg_class),
 'large_objects', (select pg_catalog.count(*) from pg_catalog.pg_largeobject_metadata),
 'tables', (select pg_catalog.count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')),
 'reg_columns', ${objects(`select ${COLUMN_NAME} as name, ${alterColumn('TYPE text')} as fix from ${COLUMNS}
    where ${USER_COLUMN} and pg_catalog.format_type(a.atttypid, null) in ('regcollation', 'regconfig', 'regdictionary', 'regnamespace', 'regoper',
        'regoperator', 'regproc', 'regprocedure')`)},
 'postfix_operators', ${objects(`select pg_catalog.format('%I.%s(%s, NONE)', n.nspname, o.oprname, pg_catalog.format_type(o.oprleft, null)) as name,
    pg_catalog.format('DROP OPERATOR %I.%s (%s, NONE)', n.nspname, o.oprname, pg_catalog.format_type(o.oprleft, null)) as fix
    from pg_catalog.pg_operator o join pg_catalog.pg_namespace n on n.oid = o.oprnamespace where o.oprright = 0 and o.oid >= 16384`)},
 'user_conversions', ${objects(`select pg_catalog.format('%I.%I', n.nspname, v.conname) as name, pg_catalog.format('DROP CONVERSION %I.%I', n.nspname, v.conname) as fix
    from pg_catalog.pg_conversion v join pg_catalog.pg_namespace n on n.oid = v.connamespace where v.oid >= 16384`)},
 'attver_columns', ${objects(`select ${COLUMN_NAME} as name, ${alterColumn('RESET (pg_attver)')} as fix from ${COLUMNS}
    where pg_catalog.array_to_string(a.attoptions, ',') operator(pg_catalog.~~) '%pg_attver=%'`)},
 'with_oids', ${objects(`select pg_catalog.format('%I.%I', n.nspname, c.relname) as name, pg_catalog.format('ALTER TABLE %I.%I SET WITHOUT OIDS', n.nspname, c.relname) as fix
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.oid >= 16384 and coalesce((pg_catalog.to_jsonb(c) operator(pg_catalog.->>) 'relhasoids')::pg_catalog.bool, false)`)},
 'type_columns', ${TYPE_COLUMNS},
 'libc_collations', (select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', x.collname, 'locale', x.collcollate) order by x.collname), '[]')
    from (select distinct l.collname, l.collcollate from ${COLUMNS} join pg_catalog.pg_collation l on l.oid = a.attcollation
      where a.attnum > 0 and not a.attisdropped and l.collprovider = 'c' and c.relkind in ('r', 'm', 'p', 'i', 'I')
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname operator(pg_catalog.!~) '^pg_toast') x)
)`);

/**
 * The data volume as the database container sees it. Arguments: $1 PGDATA, $2 `reflink` to test whether the
 * filesystem can clone (a file of a few bytes is copied beside PGDATA and removed). Prints `key value` lines.
 */
export const VOLUME_SCRIPT = `d=$1; p=$(dirname "$d")
echo "id $(id -u) $(id -g)"
echo "pg_version $(cat "$d/PG_VERSION" 2>/dev/null)"
echo "data $(stat -c '%u %g %a' "$d")"
echo "parent $(stat -c '%u %g %a' "$p")"
echo "df $(df -Pk "$p" | tail -n 1)"
echo "dfi $(df -Pi "$p" | tail -n 1)"
echo "du $(du -sk "$d" 2>/dev/null | cut -f1)"
echo "du_parent $(du -sk "$p" 2>/dev/null | cut -f1)"
echo "files $(find "$d" -xdev 2>/dev/null | wc -l)"
echo "fstype $(stat -f -c %T "$p")"
for f in "$p"/* "$p"/.[!.]*; do [ -e "$f" ] && echo "entry \${f##*/}"; done
for f in pg_upgrade_output.d delete_old_cluster.sh; do [ -e "$d/$f" ] && echo "inside $f"; done
if [ "$2" = reflink ]; then
  t="$p/.pgupgrade-reflink-probe.$$"
  if cp --reflink=always "$d/PG_VERSION" "$t" 2>/dev/null; then echo "reflink yes"; else echo "reflink no"; fi
  rm -f "$t"
fi
exit 0`;
