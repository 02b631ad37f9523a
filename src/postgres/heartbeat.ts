/**
 * Shell text that makes a long, quiet script talk: a line on stderr every 20 s while it runs, so that the plugin's
 * exec (which gives up on silence, not on total time) knows the work goes on. The plugin drops these lines from
 * stderr. Prepend it to a script; it stops with the script.
 */
export function heartbeat(seconds: number): string {
  return `( while sleep ${Math.max(1, Math.floor(seconds))}; do echo 'pgupgrade: still working' >&2; done ) & pgupgrade_hb=$!
trap 'kill $pgupgrade_hb 2>/dev/null' EXIT
`;
}

/** A script that talks while it works. */
export function withHeartbeat(script: string, seconds = 20): string {
  return `${heartbeat(seconds)}${script}`;
}
