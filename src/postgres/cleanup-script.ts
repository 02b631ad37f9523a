/**
 * What `cleanup`'s Job runs on the data volume, beside the running database: it removes the old cluster that the
 * upgrade kept (`data-<old>.preupgrade`) and the upgrade's work directory. Values travel as positional
 * arguments, never inside the text. Arguments: $1 PGDATA, $2 old major, $3 new major.
 *
 * pg_upgrade writes `delete_old_cluster.sh` into its work directory: one `rm -rf '<path>'` for the old data
 * directory, one per old tablespace directory. It was written BEFORE the upgrade Job swapped the directories, so
 * its data directory line names PGDATA, which holds the NEW cluster now: that line is read as the kept directory,
 * never run as it is. A tablespace line is run only for a `PG_<old>_*` directory that is on a mounted volume.
 * Refusals (exit 10-12) change nothing; the script is idempotent.
 */
export const REMOVE_OLD_CLUSTER_SCRIPT = `set -u
D=\${1%/}; FROM=$2; TO=$3
P=$(dirname "$D"); K="$P/data-$FROM.preupgrade"; W="$P/.pgupgrade-work"; S="$P/.pgupgrade-work/delete_old_cluster.sh"
say() { echo "pgupgrade: $*"; }
V=$(cat "$D/PG_VERSION" 2>/dev/null)
[ "$V" = "$TO" ] || { echo "$D holds PostgreSQL \${V:-nothing}, not the upgraded $TO: nothing was removed; look before anything goes" >&2; exit 10; }
if [ -e "$K" ]; then
  KV=$(cat "$K/PG_VERSION" 2>/dev/null)
  [ "$KV" = "$FROM" ] || { echo "$K holds PostgreSQL \${KV:-nothing}, not the old $FROM that the upgrade kept: nothing was removed" >&2; exit 11; }
fi
if [ -f "$S" ]; then
  say "pg_upgrade's delete_old_cluster.sh lists:"
  sed -n "s/^rm -rf '\\\\(.*\\\\)'$/\\\\1/p" "$S" > /tmp/old-paths
  while IFS= read -r p; do
    p=\${p%/}
    # The Job ran pg_upgrade on the old cluster where it held it, beside PGDATA (hold-script.ts).
    if [ "$p" = "$D" ] || [ "$p" = "$P/.pgupgrade-held-$FROM" ]; then
      say "  $p: the old data directory, now at $K (the upgrade swapped them after pg_upgrade wrote the script)"
    else
      case "$(basename "$p")" in
        PG_"$FROM"_*) if [ -d "$p" ]; then rm -rf "$p" && say "  $p: an old tablespace directory, removed"; else say "  $p: an old tablespace directory not mounted here: remove it yourself"; fi ;;
        *) say "  $p: not a directory of PostgreSQL $FROM: left as it is" ;;
      esac
    fi
  done < /tmp/old-paths
fi
if [ -e "$K" ]; then rm -rf "$K" || { echo "removing $K failed" >&2; exit 12; }; say "removed the old cluster $K"; else say "$K is not there (removed earlier)"; fi
if [ -e "$W" ]; then rm -rf "$W" || { echo "removing $W failed" >&2; exit 12; }; say "removed the upgrade's work directory $W"; fi
sync
say "done: $D is PostgreSQL $TO, and the old cluster is gone"`;

/** Prints which of the paths exist; run in the database pod, so that a listing says exactly what will go. */
export const EXISTING_PATHS_SCRIPT = 'for p in "$@"; do [ -e "$p" ] && echo "$p"; done; exit 0';
