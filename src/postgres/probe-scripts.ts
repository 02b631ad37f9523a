import { SAFE_SESSION_SH } from './session.ts';
import { REDACT_SH } from './redact.ts';
import { GUARDED_UPDATES_SH } from './extension-guard.ts';

/**
 * Shell text that check runs in its probe pod, on a stopped cluster's volume. Like queries.ts, values travel as
 * positional arguments, never inside the text. Every script starts with PRELUDE.
 */

/**
 * A passwd entry for a UID the image does not know (initdb and pg_ctl look the user up), through the image's
 * nss_wrapper as the official entrypoint does; and `bindir M`, the directory of major M's binaries in this image.
 */
export const PRELUDE = `if ! id -un >/dev/null 2>&1; then
  for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so /opt/bitnami/common/lib/libnss_wrapper.so; do
    if [ -e "$lib" ]; then
      echo "postgres:x:$(id -u):$(id -g):postgres:/tmp:/bin/sh" > /tmp/passwd
      echo "postgres:x:$(id -g):" > /tmp/group
      export LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD=/tmp/passwd NSS_WRAPPER_GROUP=/tmp/group
      break
    fi
  done
fi
bindir() {
  for b in "/usr/lib/postgresql/$1/bin" /opt/bitnami/postgresql/bin /usr/local/bin /usr/bin; do
    if [ -x "$b/postgres" ] && "$b/postgres" --version | grep -q " $1[.]"; then echo "$b"; return 0; fi
  done
  echo "this image has no PostgreSQL $1 binaries" >&2; return 1
}
# pg_ctl hands -o to a shell unquoted, so the config path must hold no space or shell character: a symlink in
# /tmp stands for PGDATA (includes relative to the config file still resolve inside PGDATA). server_opts DIR sets
# SERVER_OPTS for the cluster in DIR; a script that moves the cluster calls it again.
server_opts() {
  conf=/tmp/pgupgrade-empty.conf
  [ -f "$1/postgresql.conf" ] && ln -sfn "$1" /tmp/pgupgrade-pgdata && conf=/tmp/pgupgrade-pgdata/postgresql.conf
  SERVER_OPTS="-c config_file=$conf -c hba_file=/tmp/pgupgrade-hba.conf -c ident_file=/tmp/pgupgrade-ident.conf"
}
: > /tmp/pgupgrade-empty.conf
printf 'local all all trust\\n' > /tmp/pgupgrade-hba.conf; : > /tmp/pgupgrade-ident.conf
server_opts "$1"
`;

/** pg_controldata of the cluster. Argument: $1 PGDATA. */
export const CONTROLDATA_SCRIPT = `${PRELUDE}
B=$(bindir "$(cat "$1/PG_VERSION")") || exit 3
LC_ALL=C "$B/pg_controldata" "$1"`;

/**
 * Starts the old server with no TCP listener, its socket in the probe's own /tmp and trust for that socket only,
 * so that the same SQL as on a live server can run. Argument: $1 PGDATA.
 */
export const START_SCRIPT = `${PRELUDE}
${REDACT_SH}
B=$(bindir "$(cat "$1/PG_VERSION")") || exit 3
"$B/pg_ctl" -D "$1" -w -t 120 -l /tmp/pgupgrade-server.log -o "$SERVER_OPTS -c listen_addresses='' -c unix_socket_directories=/tmp -c port=5432" start >/dev/null || { tail -n 15 /tmp/pgupgrade-server.log | redact >&2; exit 4; }`;

/**
 * The same start on a copy restored from a snapshot: the copy is ours alone, so the postmaster.pid that a
 * running server's snapshot carries is removed first (its PID may well be alive in the probe pod). Then the
 * server runs crash recovery from the last checkpoint, as after a power cut. Argument: $1 PGDATA.
 */
export const RESTORED_START_SCRIPT = `rm -f "$1/postmaster.pid"
${START_SCRIPT}`;

/** Stops that server cleanly. Argument: $1 PGDATA. */
export const STOP_SCRIPT = `${PRELUDE}
B=$(bindir "$(cat "$1/PG_VERSION")") || exit 3
"$B/pg_ctl" -D "$1" -m fast -w -t 120 stop >/dev/null`;

/**
 * pg_upgrade's own --check against the stopped cluster and a throwaway new cluster in /tmp, made with the
 * initdb options the upgrade will use. Prints pg_upgrade's output, then its report files on failure.
 * Arguments: $1 PGDATA, $2 install user, $3 old major, $4 new major, then initdb options.
 */
export const PG_UPGRADE_CHECK_SCRIPT = `${PRELUDE}
D=$1; U=$2; O=$(bindir "$3") || exit 3; N=$(bindir "$4") || exit 3; shift 4
w=/tmp/pgupgrade-check; rm -rf "$w"; mkdir -p "$w"; cd "$w" || exit 3
"$N/initdb" -D "$w/new" -U "$U" "$@" > "$w/initdb.log" 2>&1 || { cat "$w/initdb.log"; exit 5; }
"$N/pg_upgrade" --check -b "$O" -B "$N" -d "$D" -D "$w/new" -U "$U" --socketdir="$w" -o "$SERVER_OPTS" -O "-c hba_file=/tmp/pgupgrade-hba.conf"
rc=$?
if [ "$rc" -ne 0 ]; then find "$w" -name '*.txt' | while read -r f; do echo "== \${f##*/}"; head -n 20 "$f"; done; fi
rm -rf "$w"
exit "$rc"`;

/**
 * The steps after an upgrade, on a server that a probe started (its socket in /tmp, trusted for the install user):
 * update_extensions.sql when pg_upgrade wrote one, guarded as the upgrade runs it (UPDATE_EXTENSIONS_SCRIPT: the
 * skipped extensions on lines of their own), then the statistics, each timed in ms on its own line (`extensions
 * <ms>`, `analyze <ms>`). Arguments: $1 the Job's work directory, $2 the install user, $3 the new major, $4 the
 * guarded update (GUARDED_UPDATE_SQL).
 */
export const POST_UPGRADE_LOCAL_SCRIPT = `${PRELUDE}
B=$(bindir "$3") || exit 3
export PGHOST=/tmp PGPORT=5432 PGUSER=$2
${SAFE_SESSION_SH}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
${GUARDED_UPDATES_SH}
t=$(ms)
if [ -f "$1/update_extensions.sql" ]; then guarded_updates "$1/update_extensions.sql" "$4" | "$B/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -f - || exit 21; fi
echo "extensions $(( $(ms) - t ))"
t=$(ms)
if [ "$3" -ge 18 ]; then "$B/vacuumdb" --all --analyze-in-stages --missing-stats-only >/dev/null || exit 22
else "$B/vacuumdb" --all --analyze-in-stages >/dev/null || exit 22; fi
echo "analyze $(( $(ms) - t ))"`;
