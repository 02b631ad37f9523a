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
hold() {
  printf '%s\\n' "$HOLD_SIG" "The PostgreSQL $FROM cluster that was here is at $H while kubectl-pgupgrade upgrades it to $TO, so that no other server can start on it." \\
    "Do not remove this file. To put the cluster back: kubectl pgupgrade upgrade --rollback; to go on: run the same upgrade again." > "$P/.pgupgrade-hold-note" || return 1
  mv -T "$D" "$H" || return 1
  mv -T "$P/.pgupgrade-hold-note" "$D" && sync -f "$P" && say "holding $D: the old cluster is at $H while the Job works, and $D is a file, so no other pod can start a server there"
}
# release: the cluster back at PGDATA, exactly as it was.
release() { held && [ -d "$H" ] && rm -f "$D" && mv -T "$H" "$D" && sync -f "$P"; }`;
