/**
 * Shell text that makes a long, quiet script talk: a line on stderr every 20 s while it runs, so that the plugin's
 * exec (which gives up on silence, not on total time) knows the work goes on. The plugin drops these lines from
 * stderr. Prepend it to a script; it stops with the script.
 */
export function heartbeat(seconds: number): string {
  // The script runs in the database container, whose pid 1 is often the postmaster. A child left behind there is
  // reparented to it, and one that then dies of a signal reads to it as a crashed backend: it resets every
  // connection and runs crash recovery. So every process the heartbeat starts is killed and reaped by its parent.
  return `( trap 'kill $pgupgrade_s 2>/dev/null; wait $pgupgrade_s 2>/dev/null; exit 0' TERM
  while :; do sleep ${Math.max(1, Math.floor(seconds))} & pgupgrade_s=$!; wait $pgupgrade_s; echo 'pgupgrade: still working' >&2; done ) & pgupgrade_hb=$!
trap 'kill $pgupgrade_hb 2>/dev/null; wait $pgupgrade_hb 2>/dev/null' EXIT
`;
}

/** A script that talks while it works. */
export function withHeartbeat(script: string, seconds = 20): string {
  return `${heartbeat(seconds)}${script}`;
}
