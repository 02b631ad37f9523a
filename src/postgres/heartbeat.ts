/**
 * \`at_exit CMD\`: CMD runs when the script exits, whatever its exit (one EXIT trap runs every command given, the
 * last given first), so that a script's own clean-up and the heartbeat's do not replace each other. Defined again
 * by a script that uses it, it keeps what was given before.
 */
export const AT_EXIT_SH = `: "\${pgupgrade_atexit=}"
at_exit() { pgupgrade_atexit="$1; $pgupgrade_atexit"; trap 'eval "$pgupgrade_atexit"' EXIT; }`;

/**
 * Shell text that makes a long, quiet script talk: a line on stderr every few seconds while it runs, so that the
 * plugin's exec (which gives up on silence, not on total time) knows the work goes on. The plugin drops these
 * lines from stderr. Prepend it to a script; it stops with the script. On stderr only: stdout is the script's
 * answer, which the plugin reads (and waits on, as HELD_PSQL_SCRIPT's HELD line).
 */
export function heartbeat(seconds: number): string {
  // The script runs in the database container, whose pid 1 is often the postmaster. A child left behind there is
  // reparented to it, and one that then dies of a signal reads to it as a crashed backend: it resets every
  // connection and runs crash recovery. So every process the heartbeat starts is killed and reaped by its parent.
  // Its first line at once: from there on the exec's silence limit counts the work's silence alone. The loop
  // sleeps a second at a time: dash runs a trap only between commands, and a TERM that came just before \`wait\`
  // waited for the whole sleep (measured: 5 in 200 scripts of a 600 s heartbeat held their exit that long).
  const n = Math.max(1, Math.floor(seconds));
  return `pgupgrade_atexit=
echo 'pgupgrade: still working' >&2
( trap 'kill $! 2>/dev/null; wait $! 2>/dev/null; exit 0' TERM
  pgupgrade_t=0; while :; do sleep 1 & wait $!; pgupgrade_t=$((pgupgrade_t + 1))
  if [ "$pgupgrade_t" -ge ${n} ]; then pgupgrade_t=0; echo 'pgupgrade: still working' >&2; fi; done ) & pgupgrade_hb=$!
${AT_EXIT_SH}
at_exit 'kill $pgupgrade_hb 2>/dev/null; wait $pgupgrade_hb 2>/dev/null'
`;
}

/**
 * Seconds between two heartbeat lines for an exec that gives up after `silenceMs` of silence: a quarter of it, so
 * that a late tick or a slow stream still lands in time; at least 1 s (sleep's unit), at most 20 s.
 */
export function heartbeatSeconds(silenceMs: number): number {
  if (!Number.isFinite(silenceMs) || silenceMs <= 0) return 20;
  return Math.min(20, Math.max(1, Math.floor(silenceMs / 4000)));
}

/**
 * A script that talks while it works, often enough for an exec that gives up after `silenceMs` of silence (pass
 * execSilenceMs() of src/k8s/silence.ts: PGUPGRADE_EXEC_SILENCE_MS, so that a lowered limit lowers the interval).
 */
export function withHeartbeat(script: string, silenceMs: number): string {
  return `${heartbeat(heartbeatSeconds(silenceMs))}${script}`;
}
