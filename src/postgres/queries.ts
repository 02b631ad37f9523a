import { CONFIG_PATHS_SQL } from './config-paths.ts';
import { TABLESPACES_SQL } from './tablespaces.ts';
import { JIT_OFF_PSQL_ARGS, JIT_OFF_PSQL_LINES, sessionOptions } from './session.ts';
import { DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutOption } from './lock-wait.ts';

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
 * Shell that decodes one base64 line into $v, keeping every byte (a trailing newline too: the `.` guards it
 * against the command substitution). Names and the password travel base64-encoded on stdin, one per line, so
 * that a newline inside one cannot cut it or start another.
 */
export const DECODE_SH = `dec() { v=$(printf '%s' "$1" | base64 -d; echo .); v=\${v%.}; }`;

/** DECODE_SH, then the password from stdin's first line into PGPASSWORD (not exported yet). */
export const READ_PASSWORD_SH = `${DECODE_SH}
IFS= read -r b || exit 90
dec "$b"; PGPASSWORD=$v`;

/**
 * What the stdin of PSQL_SCRIPT and HELD_PSQL_SCRIPT carries: the password, then each database name, each as one
 * base64 line, then an empty line.
 */
export function psqlStdin(password: string, dbs: string[]): string {
  return `${[password, ...dbs].map((x) => Buffer.from(x, 'utf8').toString('base64')).join('\n')}\n\n`;
}

/**
 * Runs one SQL text in each database named on stdin (see psqlStdin): over TCP to the pod's own server, so that
 * the password is really tested, or, in check's probe pod, over the socket in $4. The name reaches psql as
 * PGDATABASE, never as -d: psql reads a -d value that holds `=` or starts with `postgresql://` as a connection
 * string whose host and port override -h and -p, so `CREATE DATABASE "host=elsewhere dbname=x"` would send the
 * password elsewhere; libpq takes its environment defaults as plain values. Prints `<base64 name>\t<json>` per
 * database, on one line (psql's layout newlines become spaces: JSON keeps its own escaped). JIT is off (see
 * JIT_OFF_PSQL_ARGS). `lockMs` bounds each lock wait (src/postgres/lock-wait.ts). Arguments: $1 user, $2 port,
 * $3 SQL, $4 host (default 127.0.0.1).
 */
export const psqlScript = (lockMs: number): string => `${READ_PASSWORD_SH}
export PGPASSWORD PGOPTIONS='${sessionOptions(lockTimeoutOption(lockMs))}'
while IFS= read -r b && [ -n "$b" ]; do
  dec "$b"
  out=$(PGDATABASE=$v psql -X -w -q -A -t -v ON_ERROR_STOP=1 -h "\${4:-127.0.0.1}" -p "$2" -U "$1" ${JIT_OFF_PSQL_ARGS} -c "$3") || exit $?
  printf '%s\\t' "$b"; printf '%s' "$out" | tr '\\n' ' '; printf '\\n'
done`;

/** psqlScript with the default lock limit (tests that run it outside the plugin). */
export const PSQL_SCRIPT = psqlScript(DEFAULT_LOCK_TIMEOUT_MS);

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

/**
 * PSQL_SCRIPT's sibling for a verification that runs while the applications start: one psql session per
 * database, all at once, each in a REPEATABLE READ transaction whose snapshot is taken first (a `\\!` shell escape
 * marks it, run by psql only after that statement). When every session holds its snapshot the script prints
 * `HELD`; the plugin may then let the applications write, since each session goes on reading the data as it was
 * at that instant. Then it prints `<base64 name>\\t<json>` lines as PSQL_SCRIPT does. Same arguments; stdin as PSQL_SCRIPT.
 */
export const heldPsqlScript = (lockMs: number): string => `${READ_PASSWORD_SH}
export PGPASSWORD PGOPTIONS='${sessionOptions(lockTimeoutOption(lockMs))}'
w=$(mktemp -d) || exit 91; i=0; pids=
while IFS= read -r b && [ -n "$b" ]; do
  i=$((i+1)); printf '%s' "$b" > "$w/$i.name"; dec "$b"
  ( printf '${JIT_OFF_PSQL_LINES}begin isolation level repeatable read;\\nselect 1;\\n\\\\! touch %s\\n%s;\\ncommit;\\n' "$w/$i.held" "$3" |
      PGDATABASE=$v psql -X -w -q -A -t -v ON_ERROR_STOP=1 -h "\${4:-127.0.0.1}" -p "$2" -U "$1" > "$w/$i.out" 2> "$w/$i.err"; echo $? > "$w/$i.rc" ) &
  pids="$pids $!"
done
while :; do
  n=0; j=1
  while [ "$j" -le "$i" ]; do { [ -f "$w/$j.held" ] || [ -f "$w/$j.rc" ]; } && n=$((n+1)); j=$((j+1)); done
  [ "$n" -ge "$i" ] && break; sleep 0.05
done
echo HELD
# Only the readers: a heartbeat (src/postgres/heartbeat.ts) may run beside them until the script ends.
wait $pids
j=1
while [ "$j" -le "$i" ]; do
  rc=$(cat "$w/$j.rc"); [ "$rc" = 0 ] || { cat "$w/$j.err" >&2; rm -rf "$w"; exit "$rc"; }
  printf '%s\\t' "$(cat "$w/$j.name")"; grep -v '^1$' "$w/$j.out" | tr '\\n' ' '; printf '\\n'; j=$((j+1))
done
rm -rf "$w"`;

/** heldPsqlScript with the default lock limit. */
export const HELD_PSQL_SCRIPT = heldPsqlScript(DEFAULT_LOCK_TIMEOUT_MS);
