/**
 * The upgrade Job's shell functions that bring the old cluster's configuration into the new one (pg_upgrade
 * carries data and roles, not configuration). They read the old cluster in $OLD (where the Job holds it), write
 * into $N, and know PGDATA as $D (the paths that the files name); REMOVED lists the settings to comment out.
 */
export const CARRY_SH = `# Setting names are case-insensitive: a removed one is commented out however it is written.
scrub() {
  for s in $REMOVED; do
    if grep -Eiq "^[[:space:]]*$s[[:space:]]*(=|[[:space:]])" "$N/$1"; then
      sed -i -E "s/^([[:space:]]*$s[[:space:]]*(=|[[:space:]]))/# removed in PostgreSQL $TO, commented out by kubectl-pgupgrade: \\\\1/I" "$N/$1"
      say "$1: $s was removed in PostgreSQL $TO; commented out"
    fi
  done
}
# carry FILE DEPTH: a config file (relative to PGDATA) into the new cluster, scrubbed, then the files that it
# includes (include, include_if_exists, include_dir) inside PGDATA, which would otherwise be missing after the
# swap; a relative path is relative to the including file. Files outside PGDATA are the user's: named only.
carry() {
  local f=$1 depth=$2 dir line kind path rel g
  [ -f "$OLD/$f" ] || return 0
  [ "$depth" -le 10 ] || { echo "$f: includes nest more than 10 deep" >&2; return 1; }
  mkdir -p "$N/$(dirname "$f")" && cp "$OLD/$f" "$N/$f" || return 1
  scrub "$f"; say "kept $f"
  dir=$(dirname "$f")
  grep -Ei "^[[:space:]]*include(_if_exists|_dir)?([[:space:]]*=[[:space:]]*|[[:space:]]+)('[^']*'|[^'[:space:]#]+)" "$OLD/$f" > "$W/includes.$depth" || return 0
  while IFS= read -r line; do
    kind=$(printf '%s\\n' "$line" | sed -E 's/^[[:space:]]*([A-Za-z_]+).*/\\1/' | tr 'A-Z' 'a-z')
    path=$(printf '%s\\n' "$line" | sed -E "s/^[[:space:]]*[A-Za-z_]+([[:space:]]*=[[:space:]]*|[[:space:]]+)('([^']*)'|([^'[:space:]#]+)).*/\\3\\4/")
    case "$path" in "$D"/*) rel=\${path#"$D"/} ;; /*) say "$f includes $path, outside PGDATA: left as it is (it must set none of: $REMOVED)"; continue ;; *) rel="$dir/$path" ;; esac
    rel=\${rel#./}
    case "/$rel/" in */../*) say "$f includes $path, outside PGDATA: left as it is (it must set none of: $REMOVED)"; continue ;; esac
    if [ "$kind" = include_dir ]; then
      for g in "$OLD/$rel"/*.conf; do [ -f "$g" ] && { carry "\${g#"$OLD"/}" $((depth + 1)) || return 1; }; done
    else
      carry "$rel" $((depth + 1)) || return 1
    fi
  done < "$W/includes.$depth"
}`;
