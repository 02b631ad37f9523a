/**
 * The rollback Job's script, for an upgrade whose new server never started: it puts the old cluster back where
 * it was (undoing the directory swap), removes the new cluster that kubectl-pgupgrade made, and takes the ".old"
 * off pg_control where pg_upgrade --link put it, and moves the old cluster back to the volume's root where the
 * upgrade had taken it from there. Idempotent. Arguments: $1 PGDATA, $2 old major, $3 new major, $4 the volume's
 * root or empty. A directory that an upgrade Job holds (hold-script.ts) is released first.
 */
import { HOLD_SH } from './hold-script.ts';

export const ROLLBACK_JOB_SCRIPT = `set -u
D=$1; FROM=$2; TO=$3; R=\${4:-}
P=$(dirname "$D"); N="$P/data-$TO.pgupgrade-new"; K="$P/data-$FROM.preupgrade"; MARK="$P/.pgupgrade-new-$TO"; TX="$P/.pgupgrade-transfer-$TO"
say() { echo "pgupgrade: $*"; }
${HOLD_SH}
if [ "$(cat "$TX" 2>/dev/null)" = swap ]; then
  echo "pg_upgrade --swap began moving the old cluster's files: putting directories back could lose them; nothing was changed. Restore the snapshot" >&2; exit 14
fi
# An upgrade Job that stopped while it held the directory: the old cluster goes back first (its stale lock is
# removed below), or, when the Job had already moved it to $K, the hold's file goes and $K comes back below.
if held; then
  if [ -d "$H" ]; then
    [ -e "$K" ] && { echo "$D is held (the old cluster at $H) while $K exists too: look before anything moves" >&2; exit 11; }
    release || exit 12; say "released the hold: $H → $D"
  elif [ -d "$K" ]; then rm -f "$D" || exit 12
  else echo "$D is the file by which kubectl-pgupgrade holds the directory, but neither $H nor $K holds the old cluster: restore the snapshot" >&2; exit 13; fi
elif half_held; then
  [ -e "$K" ] && { echo "$H holds the old cluster (a hold stopped half-way) while $K exists too: look before anything moves" >&2; exit 11; }
  release || exit 12; say "released a hold that stopped half-way: $H → $D"
elif [ -d "$H" ]; then
  # Not ours to guess: $D is something else (a pod's initdb made an empty cluster there?) and $H has the old one.
  echo "$H holds the old cluster, but $D is there too and not the file by which kubectl-pgupgrade holds it (did a pod make a new cluster there?): look at both before anything moves; nothing was changed" >&2; exit 11
fi
if [ -d "$K" ]; then
  if [ -e "$D" ]; then
    V=$(cat "$D/PG_VERSION" 2>/dev/null)
    [ "$V" = "$TO" ] || { echo "$D holds PostgreSQL \${V:-nothing}, not the new $TO, while $K holds the old cluster: look before anything moves" >&2; exit 11; }
    say "removing the new cluster $D (PostgreSQL $TO, never started)"; rm -rf "$D"
  fi
  mv -T "$K" "$D" || exit 12
  say "moved the old cluster back: $K → $D"
fi
if [ -e "$N" ]; then say "removing the unfinished new cluster $N"; rm -rf "$N"; fi
rm -f "$MARK" "$TX"
# A postmaster.pid left by the old server that pg_upgrade had started when its pod was killed: nothing runs on
# this volume now (the database and the Job are stopped), so it is stale; the next start runs crash recovery.
[ -f "$D/postmaster.pid" ] && rm -f "$D/postmaster.pid" && say "removed a stale postmaster.pid"
# Back to the volume's root: what the upgrade moved (PGDATA, or its staging directory if it stopped halfway), PG_VERSION last.
if [ -n "$R" ]; then
  for S in "$R/.pgupgrade-relayout" "$D"; do
    [ -d "$S" ] || continue
    for e in "$S"/* "$S"/.[!.]* "$S"/..?*; do
      [ -e "$e" ] || [ -L "$e" ] || continue
      [ "\${e##*/}" = PG_VERSION ] || mv "$e" "$R/" || exit 12
    done
    { [ ! -f "$S/PG_VERSION" ] || mv "$S/PG_VERSION" "$R/"; } && rmdir "$S" || exit 12
    say "moved the old cluster back to the root of the volume: $S → $R"
  done
  # pg_upgrade's work directory (its logs) goes with the directory that the upgrade made.
  rm -rf "$P/.pgupgrade-work"; rmdir "$P" 2>/dev/null
  D=$R
fi
if [ ! -f "$D/global/pg_control" ] && [ -f "$D/global/pg_control.old" ]; then
  mv "$D/global/pg_control.old" "$D/global/pg_control" && say "restored global/pg_control (pg_upgrade --link had renamed it)"
fi
V=$(cat "$D/PG_VERSION" 2>/dev/null)
[ "$V" = "$FROM" ] && [ -f "$D/global/pg_control" ] || { echo "$D is not a startable PostgreSQL $FROM cluster after the rollback (PG_VERSION \${V:-missing}); restore the snapshot" >&2; exit 13; }
sync
say "done: $D is PostgreSQL $FROM again"`;
