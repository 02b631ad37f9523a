/**
 * Shell text that holds a data directory while the upgrade works on it, shared by the upgrade and rollback Jobs'
 * scripts (which set D, P, FROM and TO first). Holding renames the cluster to a name of the plugin's ($H, beside
 * it on the same volume) and puts a regular file at PGDATA saying so: while PGDATA is a file, no image's
 * entrypoint can start a server on it (`postgres -D` wants a directory) nor initdb a new one there (`mkdir -p`
 * fails), so a pod that a controller starts meanwhile crash-loops and writes nothing.
 */
export const HOLD_SH = `H="$P/.pgupgrade-held-$FROM"
HOLD_SIG="kubectl-pgupgrade holds this data directory"
# held: PGDATA is the file that hold left.
held() { [ -f "$D" ] && [ ! -L "$D" ] && [ "$(head -n 1 "$D" 2>/dev/null)" = "$HOLD_SIG" ]; }
# half_held: a hold stopped between its two renames (a kill, a node lost): PGDATA gone, the old cluster at $H.
half_held() { [ ! -e "$D" ] && [ ! -L "$D" ] && [ "$(cat "$H/PG_VERSION" 2>/dev/null)" = "$FROM" ]; }
# A failed sync is said, not taken for a failed rename: the renames are done by then.
synced() { sync -f "$P" 2>/dev/null || say "warning: sync -f $P failed; the renames are done, but may not be on disk yet"; }
hold_note() {
  printf '%s\\n' "$HOLD_SIG" "The PostgreSQL $FROM cluster that was here is at $H while kubectl-pgupgrade upgrades it to $TO, so that no other server can start on it." \\
    "Do not remove this file. To put the cluster back: kubectl pgupgrade upgrade --rollback; to go on: run the same upgrade again." > "$P/.pgupgrade-hold-note"
}
# hold: the cluster renamed to $H, then the note renamed to PGDATA; a note that cannot take PGDATA's name (a pod's
# mkdir got there first) puts the cluster back.
hold() {
  hold_note || return 1
  if ! half_held; then mv -T "$D" "$H" || return 1; fi
  if ! mv -T "$P/.pgupgrade-hold-note" "$D"; then
    mv -T "$H" "$D" 2>/dev/null || say "$D could not be held, and the old cluster stays at $H: move it back by hand (mv -T $H $D) if $D is not a data directory"
    return 1
  fi
  synced; say "holding $D: the old cluster is at $H while the Job works, and $D is a file, so no other pod can start a server there"
}
# release: the cluster back at PGDATA, exactly as it was (from a whole hold, or from one stopped half-way).
release() {
  if held && [ -d "$H" ]; then rm -f "$D" && mv -T "$H" "$D" || return 1
  elif half_held; then mv -T "$H" "$D" || return 1
  else return 1; fi
  [ -d "$D" ] && [ -f "$D/PG_VERSION" ] && synced
}
`;
