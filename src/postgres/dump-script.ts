import { DECODE_SH, READ_PASSWORD_SH } from './psql-scripts.ts';
import { sessionOptions } from './session.ts';
import { AT_EXIT_SH } from './heartbeat.ts';
import { DEFAULT_LOCK_TIMEOUT_MS } from './lock-wait.ts';

/**
 * The dump method's scripts: run with the target major's client tools (the new image), as the PostgreSQL docs
 * advise. Values travel as positional arguments, database names and passwords on stdin (one base64 line each),
 * never in the text or on a command line.
 */

/**
 * What makes a target not empty: databases other than initdb's, roles other than the bootstrap superuser and the
 * one connected, relations in the `postgres` database. One line, empty when the target is empty. Every function,
 * catalog and `||`, `!~` operator is pg_catalog's (a superuser session runs it).
 */
export const TARGET_CONTENT_SQL = `select pg_catalog.concat_ws('; ',
  (select 'databases ' operator(pg_catalog.||) pg_catalog.string_agg(pg_catalog.quote_ident(datname), ', ' order by datname) from pg_catalog.pg_database
     where datname not in ('postgres', 'template0', 'template1')),
  (select 'roles ' operator(pg_catalog.||) pg_catalog.string_agg(pg_catalog.quote_ident(rolname), ', ' order by rolname) from pg_catalog.pg_roles
     where rolname operator(pg_catalog.!~) '^pg_' and oid <> 10 and rolname <> current_user),
  (select 'relations in database postgres ' operator(pg_catalog.||) pg_catalog.count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname operator(pg_catalog.!~) '^pg_' having pg_catalog.count(*) > 0))`;

/**
 * Prints `pg_dumpall --globals-only` of the source, read-only by construction. Arguments: $1 host, $2 port,
 * $3 user; stdin: the password (psqlStdin). Its output holds password hashes: read it into memory for
 * rewriteGlobals (dump-globals.ts), never log it.
 */
export const DUMP_GLOBALS_SCRIPT = `${READ_PASSWORD_SH}
export PGPASSWORD PGHOST=$1 PGPORT=$2 PGUSER=$3 PGOPTIONS='${sessionOptions('-c default_transaction_read_only=on')}'
pg_dumpall -w --globals-only || exit 40`;

/**
 * A shell function, `restrict`: prints `\restrict <random key>` where this psql has it (17.6, 16.10, 15.14, 14.19,
 * 13.22 and every later release, read from `psql --version`), nothing where it has not. Restricted, psql runs no
 * meta-command but the `\unrestrict` of that key, which nothing derived from the source can know. It fails when
 * no key can be read from /dev/urandom.
 */
export const RESTRICT_SH = `restrict() {
  set -- $(psql --version | sed -nE 's/^[^0-9]*([0-9]+)(\\.([0-9]+))?.*/\\1 \\3/p') 0 0
  case "$1" in 13) m=22;; 14) m=19;; 15) m=14;; 16) m=10;; 17) m=6;; *) m=0;; esac
  [ "$1" -ge 13 ] && [ "\${2:-0}" -ge "$m" ] || return 0
  k=$(od -An -N16 -tx1 /dev/urandom | tr -dc 0-9a-f)
  [ \${#k} -eq 32 ] || { echo "cannot read a random key for psql's restrict mode from /dev/urandom" >&2; return 1; }
  printf '\\\\restrict %s\\n' "$k"
}`;

/**
 * Loads the source into an empty target: the globals (rewritten already), then per database a dump and a
 * restore. Streamed (`pg_dump -Fc -Z 0 | pg_restore --single-transaction`: nothing to fill and read back, nothing
 * to compress for a stream that never touches a disk, and under wal_level=minimal no WAL for the tables made and
 * filled in that one transaction; the database itself is made first from a schema-only dump's DATABASE entries)
 * unless a directory is given for a kept dump, then `pg_dump -Fd -j` into it and `pg_restore -j` from it.
 *
 * Arguments: $1 source host, $2 source port, $3 source user, $4 target host, $5 target port, $6 target user,
 * $7 jobs, $8 the kept dump's directory or empty, $9 pg_dump's --lock-wait-timeout in ms (src/postgres/lock-wait.ts:
 * an application's ACCESS EXCLUSIVE lock, or a forgotten prepared transaction's, fails the dump at its start
 * instead of holding the downtime open for ever; the restore gets none: the new instance has no other session). Stdin (dumpRestoreStdin): the source's password, the target's,
 * the globals' SQL, then each database name, each one base64 line, then an empty line.
 *
 * Safe by construction: every source session has default_transaction_read_only=on, so a swapped host can never
 * be written; a target that holds anything (TARGET_CONTENT_SQL), or that is the source itself (one
 * system_identifier), is refused before anything is written. Exit codes: 30 target not empty, 31 target
 * unreachable, 32 source unreachable or not read-only, 33 one server, 34 client tools older than the source,
 * 40 a dump failed, 41 a restore failed, 42 the globals failed, 90 stdin cut short.
 */
export const DUMP_RESTORE_SCRIPT = `${DECODE_SH}
${AT_EXIT_SH}
set -u
SH=$1; SP=$2; SU=$3; TH=$4; TP=$5; TU=$6; J=$7; K=$8; LW=\${9:-${DEFAULT_LOCK_TIMEOUT_MS}}
say() { echo "pgupgrade: $*"; }
IFS= read -r b || exit 90; dec "$b"; SPW=$v
IFS= read -r b || exit 90; dec "$b"; TPW=$v
IFS= read -r b || exit 90; dec "$b"; G=$v
src() { PGPASSWORD=$SPW PGHOST=$SH PGPORT=$SP PGUSER=$SU PGOPTIONS='${sessionOptions('-c default_transaction_read_only=on')}' "$@"; }
dst() { PGPASSWORD=$TPW PGHOST=$TH PGPORT=$TP PGUSER=$TU PGOPTIONS='${sessionOptions()}' "$@"; }
${RESTRICT_SH}
q() { "$@" psql -X -w -A -t -v ON_ERROR_STOP=1 -d postgres -c "$Q"; }
Q="select pg_catalog.current_setting('default_transaction_read_only') operator(pg_catalog.||) ' ' operator(pg_catalog.||) pg_catalog.current_setting('server_version_num') operator(pg_catalog.||) ' ' operator(pg_catalog.||) (select system_identifier from pg_catalog.pg_control_system())"
S=$(q src) || { echo "cannot reach the source $SH:$SP as $SU" >&2; exit 32; }
T=$(q dst) || { echo "cannot reach the target $TH:$TP as $TU" >&2; exit 31; }
set -- $S; SRO=$1; SV=$2; SID=$3; set -- $T; TID=$3
[ "$SRO" = on ] || { echo "the source session is not read-only: nothing was written" >&2; exit 32; }
[ "$SID" != "$TID" ] || { echo "the source and the target are one server (system_identifier $SID): nothing was written" >&2; exit 33; }
CV=$(pg_dump --version | sed -E 's/^[^0-9]*([0-9]+).*/\\1/')
[ "$CV" -ge $((SV / 10000)) ] || { echo "pg_dump $CV is older than the source server ($SV): use the newer major's client tools" >&2; exit 34; }
Q="${TARGET_CONTENT_SQL}"
C=$(q dst) || exit 31
[ -z "$C" ] || { echo "the target is not empty ($C): a dump is loaded into an empty instance only; nothing was written" >&2; exit 30; }
say "source $SV (read-only session), target empty; globals first"
# Without NOTICEs (a role's setting naming a tablespace that does not exist is one): a failure's last lines are the error.
R=$(restrict) || exit 42
printf '%s\\nSET client_min_messages = warning;\\n%s\\n' "$R" "$G" | dst psql -X -w -q -v ON_ERROR_STOP=1 -d postgres -f - >/dev/null || exit 42
# pg_restore -v names each table as its data goes in: counted into a progress line (the first few, then every 50th).
# Its other verbose lines (known by their verbs) are dropped; anything else (errors in every release's wording, what
# follows them) passes to stderr.
restored() { n=0; while IFS= read -r l; do case "$l" in
  'pg_restore: processing data for table '*) n=$((n + 1)); if [ "$n" -le 3 ] || [ $((n % 50)) -eq 0 ]; then say "database $i: table $n of about $NT"; fi ;;
  'pg_restore: creating '*|'pg_restore: processing '*|'pg_restore: connecting '*|'pg_restore: executing '*|'pg_restore: implied '*|'pg_restore: launching '*|\\
  'pg_restore: finished '*|'pg_restore: entering '*|'pg_restore: transferring '*|'pg_restore: setting owner '*|'pg_restore: disabling triggers '*|\\
  'pg_restore: enabling triggers '*|'pg_restore: reducing dependencies '*|'pg_restore: restoring large object'*|'pg_restore: restored '*) ;;
  *) printf '%s\\n' "$l" >&2 ;;
esac; done; }
QT="select pg_catalog.count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.relkind = 'r' and n.nspname <> 'information_schema' and n.nspname operator(pg_catalog.!~) '^pg_'"
W=$(mktemp -d) || exit 91
# The schema dump and its list are removed whatever ends the load: a failed restore as much as the last database.
at_exit 'rm -rf "$W"'
i=0
while IFS= read -r b && [ -n "$b" ]; do
  i=$((i + 1)); dec "$b"; export PGDATABASE="$v"
  # postgres and template1 are initdb's in the target too: their contents go into them, without -C.
  CREATE=-C; D=postgres; case "$v" in postgres|template1) CREATE=; D='';; esac
  T0=$(date +%s)
  NT=$(src psql -X -w -A -t -c "$QT" 2>/dev/null) || NT='?'
  say "loading database $i ($NT tables)"
  if [ -z "$K" ]; then
    if [ -n "$CREATE" ]; then
      # The database first, with its own properties (pg_dump's DATABASE entries of a schema-only dump, which is
      # small): CREATE DATABASE cannot run in the transaction that the data goes into.
      src pg_dump -w --lock-wait-timeout="$LW" -Fc -C --schema-only -f "$W/schema" || exit 40
      pg_restore -l -C "$W/schema" | grep -E '^[0-9]+; [0-9]+ [0-9]+ (DATABASE|DATABASE PROPERTIES) - |^[0-9]+; [0-9]+ [0-9]+ (COMMENT|ACL|SECURITY LABEL) - DATABASE ' > "$W/db.list"
      dst pg_restore -w --exit-on-error -C -L "$W/db.list" -d postgres "$W/schema" || exit 41
    fi
    # One transaction: under wal_level=minimal, tables made in it are filled and indexed without WAL. The database
    # by PGDATABASE (-d '' leaves it to the environment: a name that reads as a connection string stays a name).
    { src pg_dump -w --lock-wait-timeout="$LW" -Fc -Z 0; echo $? > "$W/rc"; } | { dst pg_restore -v -w --exit-on-error --single-transaction -d '' 2>&1 >/dev/null; echo $? > "$W/rrc"; } | restored
    [ "$(cat "$W/rrc")" = 0 ] || exit 41
    [ "$(cat "$W/rc")" = 0 ] || exit 40
  else
    rm -rf "$K/$i"
    src pg_dump -w --lock-wait-timeout="$LW" -Fd -j "$J" -f "$K/$i" || exit 40
    printf '%s\\n' "$b" > "$K/$i.name"
    { dst pg_restore -v -w -j "$J" --exit-on-error $CREATE -d "$D" "$K/$i" 2>&1 >/dev/null; echo $? > "$W/rrc"; } | restored
    [ "$(cat "$W/rrc")" = 0 ] || exit 41
  fi
  say "database $i restored in $(( $(date +%s) - T0 )) s"
done
say "done: $i databases"`;

/**
 * What DUMP_RESTORE_SCRIPT's progress line says, for the task's output: which database it loads (the script
 * names it by its place in `dbs` only, as names never reach its output) and how long one took. Undefined for
 * any other line.
 */
export function loadProgress(line: string, dbs: string[]): string | undefined {
  const m =
    /^pgupgrade: (?:loading database (\d+)(?: \((\d+|\?) tables\))?|database (\d+) restored in (\d+) s|database (\d+): table (\d+) of about (\d+|\?))$/.exec(
      line.trim(),
    );
  if (!m) return undefined;
  const i = Number(m[1] ?? m[3] ?? m[5]);
  const which = `database ${dbs[i - 1] ?? '?'} (${i} of ${dbs.length})`;
  if (m[6]) return `loading ${which}: table ${m[6]} of about ${m[7]}`;
  return m[1] ? `loading ${which}${m[2] && m[2] !== '?' ? `, ${m[2]} tables` : ''}` : `${which} restored in ${m[4]} s`;
}

/** DUMP_RESTORE_SCRIPT's stdin: both passwords, the globals, each database, base64 a line, then an empty line. */
export function dumpRestoreStdin(
  sourcePassword: string,
  targetPassword: string,
  globalsSql: string,
  dbs: string[],
): string {
  return `${[sourcePassword, targetPassword, globalsSql, ...dbs].map((x) => Buffer.from(x, 'utf8').toString('base64')).join('\n')}\n\n`;
}

/** Where each side is, and how the load runs: DUMP_RESTORE_SCRIPT's positional arguments, in order. */
export interface DumpRestoreArgs {
  source: { host: string; port: number; user: string };
  target: { host: string; port: number; user: string };
  jobs: number;
  /** A directory for a kept, directory-format dump (`--keep-dump`); streamed when absent. */
  keepDir?: string;
  /** pg_dump's lock wait limit in ms; DEFAULT_LOCK_TIMEOUT_MS when absent. */
  lockWaitMs?: number;
}

/** DUMP_RESTORE_SCRIPT's arguments, as strings. */
export function dumpRestoreArgs(a: DumpRestoreArgs): string[] {
  return [
    a.source.host,
    String(a.source.port),
    a.source.user,
    a.target.host,
    String(a.target.port),
    a.target.user,
    String(a.jobs),
    a.keepDir ?? '',
    String(a.lockWaitMs ?? DEFAULT_LOCK_TIMEOUT_MS),
  ];
}
