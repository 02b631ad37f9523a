import { PRELUDE } from './probe-scripts.ts';
import { READ_PASSWORD_SH } from './psql-scripts.ts';
import { SAFE_SESSION_SH } from './session.ts';
import { CARRY_SH } from './carry-script.ts';
import { UPGRADE_SESSIONS } from './locks.ts';
import { HOLD_SH } from './hold-script.ts';
import { REDACT_SH } from './redact.ts';
import { GUARDED_UPDATES_SH } from './extension-guard.ts';

/**
 * What the in-place upgrade Job runs, and the settings it must not carry over. Like the other scripts, values
 * travel as positional arguments, never inside the text, and the text holds no secret.
 */

/** Server settings removed by each major: a carried-over config that still sets one would stop the server. */
const REMOVED_IN: Record<number, string[]> = {
  11: ['replacement_sort_tuples'],
  13: ['wal_keep_segments'],
  14: ['operator_precedence_warning', 'vacuum_cleanup_index_scale_factor'],
  15: ['stats_temp_directory'],
  16: ['vacuum_defer_cleanup_age', 'promote_trigger_file', 'force_parallel_mode'],
  17: ['old_snapshot_threshold', 'db_user_namespace', 'trace_recovery_messages'],
  18: [],
};

/** The settings that exist in `from` and are gone by `to`. */
export function removedSettings(from: number, to: number): string[] {
  return Object.entries(REMOVED_IN)
    .filter(([m]) => Number(m) > from && Number(m) <= to)
    .flatMap(([, names]) => names);
}

/** The directories the Job works with, beside PGDATA on the same volume (pg_upgrade --link needs one filesystem). */
export function upgradePaths(
  pgdata: string,
  from: number,
  to: number,
): { parent: string; next: string; kept: string; work: string } {
  const parent = pgdata.replace(/\/+$/, '').replace(/\/[^/]+$/, '') || '/';
  return {
    parent,
    next: `${parent}/data-${to}.pgupgrade-new`,
    kept: `${parent}/data-${from}.preupgrade`,
    work: `${parent}/.pgupgrade-work`,
  };
}

/**
 * The upgrade Job's script. Arguments: $1 PGDATA, $2 old major, $3 new major, $4 method (link, copy, clone or
 * swap), $5 install user, $6 space-separated settings that the new major removed, $7 the volume's root when the
 * old cluster lies there and moves into PGDATA first (relayout.ts; empty otherwise), $8 max_locks_per_transaction for
 * pg_upgrade's two servers (locks.ts; empty: the cluster's own), then initdb's options.
 *
 * It is idempotent: run again after a crash it finishes an interrupted swap of the directories, or says that the
 * upgrade is done, or starts over from a clean state; it never touches a directory that it did not make. Exit
 * codes 10-19 are refusals that name what to do; pg_upgrade's own failure is 20 and prints its log files.
 */
export const UPGRADE_JOB_SCRIPT = `${PRELUDE}
set -u
D=$1; FROM=$2; TO=$3; M=$4; U=$5; REMOVED=$6; R=$7; LOCKS=$8; shift 8
# A lock table that holds every table the schema dump locks in its one transaction (many relations: locks.ts), the
# same on both servers (the new one runs on initdb's configuration until the cluster's own is carried over).
LOCK_OPTS=""; [ -n "$LOCKS" ] && LOCK_OPTS=" -c max_connections=${UPGRADE_SESSIONS} -c max_locks_per_transaction=$LOCKS"
# No JIT on pg_upgrade's servers: its checks over a large catalog pass jit_above_cost, and an image without the LLVM
# library fails them there ("could not load library llvmjit.so"); 10 has no such setting.
JIT_OLD=""; [ "$FROM" -ge 11 ] && JIT_OLD=" -c jit=off"
P=$(dirname "$D"); N="$P/data-$TO.pgupgrade-new"; K="$P/data-$FROM.preupgrade"; W="$P/.pgupgrade-work"; MARK="$P/.pgupgrade-new-$TO"
TX="$P/.pgupgrade-transfer-$TO"
say() { echo "pgupgrade: $*"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
${HOLD_SH}
# The old cluster at the volume's root moves into PGDATA, which lies on the same volume: renames, so instant. Its
# entries go into a staging directory with PG_VERSION last, which then takes PGDATA's name: a run stopped halfway
# finishes the move, and the rollback script moves them back the same way.
if [ -n "$R" ] && { [ -f "$R/PG_VERSION" ] || [ -d "$R/.pgupgrade-relayout" ]; }; then
  S="$R/.pgupgrade-relayout"
  [ -f "$R/postmaster.pid" ] && { echo "$R/postmaster.pid exists: the server did not shut down cleanly, or still runs elsewhere; start it once and stop it cleanly; nothing was changed" >&2; exit 14; }
  [ -e "$D" ] && { echo "$D exists while the old cluster lies at the root of the volume $R: move it away; nothing was changed" >&2; exit 12; }
  mkdir -p "$S" && chmod 0700 "$S" || exit 16
  for e in "$R"/* "$R"/.[!.]* "$R"/..?*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    case "\${e##*/}" in lost+found|.pgupgrade-relayout|"$TO"|PG_VERSION) continue ;; esac
    mv "$e" "$S/" || exit 16
  done
  { [ ! -f "$R/PG_VERSION" ] || mv "$R/PG_VERSION" "$S/"; } && mkdir -p "$P" && mv "$S" "$D" && sync -f "$R" || exit 16
  say "moved the cluster at the root of the volume ($R) into $D: an upgrade in place needs it in a directory of its own"
  # The prelude looked for the cluster's configuration before it was here.
  server_opts "$D"
fi
if { [ ! -e "$D" ] || held; } && [ ! -e "$H" ] && [ -d "$K" ] && [ -f "$N/PG_VERSION" ] && [ "$(cat "$N/PG_VERSION")" = "$TO" ]; then
  rm -f "$D" && mv -T "$N" "$D" && rm -f "$MARK" "$TX" && sync -f "$P" && say "finished the directory swap of an earlier run: $D is PostgreSQL $TO" && exit 0
fi
if [ -f "$D/PG_VERSION" ] && [ "$(cat "$D/PG_VERSION")" = "$TO" ] && [ -d "$K" ]; then say "$D is already PostgreSQL $TO; the old cluster is $K"; exit 0; fi
# pg_upgrade --swap moves the old cluster's files into the new one (and disables pg_control first): after an
# interrupted transfer neither directory is whole, and nothing may be removed.
if [ "$(cat "$TX" 2>/dev/null)" = swap ] && [ -e "$N" ]; then
  echo "an earlier pg_upgrade --swap was interrupted while it moved the old cluster's files into $N: neither directory is whole; nothing was removed. Restore the snapshot: kubectl pgupgrade upgrade --rollback" >&2; exit 19
fi
# OLD: where the old cluster is. An earlier run of this Job that was killed left it held: this run resumes there.
OLD=$D
if half_held; then
  say "an earlier run of this Job stopped half-way through holding $D (the old cluster is at $H): holding it again"
  hold || { echo "holding $D failed: the old cluster is at $H; kubectl pgupgrade upgrade --rollback puts it back" >&2; exit 16; }
fi
if held; then
  [ -d "$H" ] || { echo "$D is the file by which kubectl-pgupgrade holds the directory, but the old cluster is not at $H: nothing was changed; restore the snapshot: kubectl pgupgrade upgrade --rollback" >&2; exit 13; }
  OLD=$H; say "$D is held by an earlier run of this Job (the old cluster is at $H): resuming"
  [ -f "$H/postmaster.pid" ] && { echo "$H/postmaster.pid exists: the old server that pg_upgrade started in an earlier Job pod did not stop cleanly; nothing was changed. Put the directory back (kubectl pgupgrade upgrade --rollback: it removes that lock once no pod of ours runs), then run the upgrade again" >&2; exit 14; }
fi
[ "$OLD" = "$D" ] && [ -e "$H" ] && { echo "$H exists beside $D, which kubectl-pgupgrade does not hold: look at both (did a pod make a new cluster at $D?); nothing was changed" >&2; exit 12; }
[ -f "$OLD/PG_VERSION" ] || { echo "no PG_VERSION in $OLD: this is not the data directory of a PostgreSQL cluster" >&2; exit 10; }
V=$(cat "$OLD/PG_VERSION")
[ "$V" = "$FROM" ] || { echo "$OLD holds PostgreSQL $V, not $FROM: nothing was changed" >&2; exit 11; }
[ -e "$K" ] && { echo "$K exists, left by an earlier upgrade: once you no longer need it, remove it (rm -rf in the database pod), then run again" >&2; exit 12; }
if [ ! -f "$OLD/global/pg_control" ]; then
  echo "$OLD/global/pg_control is missing$( [ -f "$OLD/global/pg_control.old" ] && echo ' and pg_control.old exists: an earlier pg_upgrade --link stopped halfway'); run kubectl pgupgrade upgrade --rollback" >&2; exit 13
fi
[ -f "$OLD/postmaster.pid" ] && { echo "$OLD/postmaster.pid exists: the server did not shut down cleanly, or still runs elsewhere; start it once and stop it cleanly" >&2; exit 14; }
# While held, PGDATA is not a directory: a setting that names a path under it by its absolute path would not resolve.
ABS=$(find "$OLD/" -maxdepth 2 -name '*.conf' ! -name pg_hba.conf ! -name pg_ident.conf -type f -exec grep -HnF -- "$D/" {} + 2>/dev/null | grep -v '^[^:]*:[0-9]*:[[:space:]]*#')
[ -n "$ABS" ] && { printf '%s\n' "$ABS" >&2; echo "these settings name paths under $D by their absolute path; the upgrade holds the cluster under another name while it works, where they would not resolve. Write them relative (an include is relative to its file, ssl and other files to PGDATA), then run again; nothing was changed" >&2; exit 12; }
if [ -e "$N" ]; then
  [ -f "$MARK" ] || { echo "$N exists and was not made by kubectl-pgupgrade: move it away" >&2; exit 12; }
  say "removing $N, left unfinished by an earlier run"; rm -rf "$N"
fi
O=$(bindir "$FROM") || exit 15; B=$(bindir "$TO") || exit 15
# From here on the old cluster is held: a failure puts it back, unless pg_upgrade passed a point of no return.
if [ "$OLD" = "$D" ]; then hold || { echo "holding $D failed: nothing was changed" >&2; exit 16; }; OLD=$H; fi
server_opts "$OLD"
on_exit() {
  rc=$?; [ "$rc" -eq 0 ] && return 0
  if [ "$(cat "$TX" 2>/dev/null)" = swap ]; then say "the old cluster stays held at $H: pg_upgrade --swap may have moved its files; restore the snapshot: kubectl pgupgrade upgrade --rollback"
  elif [ ! -f "$H/global/pg_control" ] && [ -f "$H/global/pg_control.old" ]; then say "the old cluster stays held at $H: pg_upgrade --link renamed its global/pg_control, and it must not start as it is; kubectl pgupgrade upgrade --rollback puts it back"
  elif [ -n "\${PGUP:-}" ] && [ -f "$H/postmaster.pid" ]; then say "the old cluster stays held at $H: the old server that pg_upgrade started may still run; kubectl pgupgrade upgrade --rollback puts it back once no pod of ours runs"
  elif release; then say "released the hold: $D is the old cluster again, as it was"
  else say "$D stays held$( [ -d "$H" ] && echo ": the old cluster is at $H" ); run the same upgrade again to go on, or kubectl pgupgrade upgrade --rollback"; fi
  exit "$rc"
}
trap on_exit EXIT
touch "$MARK" || exit 16
say "initdb of PostgreSQL $TO in $N: $*"
"$B/initdb" -D "$N" -U "$U" "$@" > /tmp/initdb.log 2>&1 || { cat /tmp/initdb.log; exit 17; }
rm -rf "$W"; mkdir -p "$W"; cd "$W" || exit 16
${CARRY_SH}
${REDACT_SH}
# The logs go to this container's own log too (kubectl logs, the node's files): passwords in them hidden here.
fail() { echo "pg_upgrade failed (exit $1); its logs:"; find "$N" "$W" \\( -name '*.log' -o -name '*.txt' \\) 2>/dev/null | while IFS= read -r f; do echo "== $f"; tail -n 40 "$f" | redact; done; exit 20; }
# Every value is one quoted word, whatever spaces PGDATA or the install user hold.
pgup() { "$B/pg_upgrade" "$@" -b "$O" -B "$B" -d "$OLD" -D "$N" -U "$U" --socketdir=/tmp -o "$SERVER_OPTS$LOCK_OPTS$JIT_OLD" -O "-c hba_file=/tmp/pgupgrade-hba.conf$LOCK_OPTS -c jit=off"; }
# pg_upgrade runs all its consistency checks before it changes anything, so a separate --check run only adds to
# the downtime; --swap alone keeps one, as the marker below tells rollback that files may have moved.
if [ "$M" = swap ]; then
  say "pg_upgrade --check"
  T1=$(ms); PGUP=1
  pgup --check || fail $?
  say "pg_upgrade --check took $(( $(ms) - T1 )) ms"
fi
# pg_upgrade 15 and older copies by default and has no --copy flag.
MODE="--$M"; [ "$M" = copy ] && [ "$TO" -lt 16 ] && MODE=""
say "pg_upgrade $MODE --jobs=$(nproc) (its consistency checks first)"
# Once more right before pg_upgrade: a pod that another controller started meanwhile runs the old server on this directory.
[ -f "$OLD/postmaster.pid" ] && { echo "$OLD/postmaster.pid appeared before the Job held the directory: another pod started the old server on this volume (a controller scaled the workload back up?); pg_upgrade did not start; stop that pod and pause its controller, then run the same command again" >&2; exit 14; }
# fsync of the marker and its directory only: a global sync waits for every filesystem of the node.
echo "$M" > "$TX" && sync "$TX" "$P"
# From here a lock in the held copy is pg_upgrade's own server's (before, another pod's: on_exit releases then).
T0=$(date +%s%N); PGUP=1
pgup $MODE "--jobs=$(nproc)" || fail $?
say "pg_upgrade took $(( ($(date +%s%N) - T0) / 1000000 )) ms"
# pg_upgrade carries data and roles, not configuration: the old cluster's files come over, minus removed settings.
carry postgresql.conf 0 && carry pg_hba.conf 0 && carry pg_ident.conf 0 && carry postgresql.auto.conf 0 || exit 16
[ -f update_extensions.sql ] && say "update_extensions.sql written: run after the new server starts"
mv -T "$H" "$K" && rm -f "$D" && mv -T "$N" "$D" && rm -f "$MARK" "$TX" && sync -f "$P" || { echo "swapping $D and $N failed" >&2; exit 18; }
trap - EXIT
say "done: $D is PostgreSQL $TO; the old cluster is $K"`;

/** The password as psqlStdin sends it: one base64 line, decoded with every byte kept. */
const PASSWORD_FROM_STDIN = `${READ_PASSWORD_SH}
export PGPASSWORD PGHOST=127.0.0.1 PGPORT=$2 PGUSER=$1
${SAFE_SESSION_SH}`;

/**
 * Runs update_extensions.sql when pg_upgrade wrote one, in the database pod, each database's ALTER EXTENSION
 * lines replaced by $4 (GUARDED_UPDATE_SQL): an extension whose schema non-superusers can write is skipped, and
 * named on a line of its own (extension-guard.ts). The password comes on stdin (psqlStdin's first line).
 * Arguments: $1 user, $2 port, $3 the Job's work dir on the volume, $4 the guarded update.
 */
export const UPDATE_EXTENSIONS_SCRIPT = `${PASSWORD_FROM_STDIN}
[ -f "$3/update_extensions.sql" ] || exit 0
${GUARDED_UPDATES_SH}
guarded_updates "$3/update_extensions.sql" "$4" | psql -X -w -q -A -t -v ON_ERROR_STOP=1 -d postgres -f - || exit 21
echo "pgupgrade: ran update_extensions.sql (but for extensions in schemas that non-superusers can write)"`;

/**
 * Rebuilds the planner statistics. 18 carries them over, so only what is missing is analysed; before 18,
 * everything, in stages (minimal statistics first, so that queries plan sanely at once). Arguments: $1 user,
 * $2 port, $3 new major.
 */
export const ANALYZE_SCRIPT = `${PASSWORD_FROM_STDIN}
if [ "$3" -ge 18 ]; then vacuumdb -w --all --analyze-in-stages --missing-stats-only || exit 22
else vacuumdb -w --all --analyze-in-stages || exit 22; fi`;
