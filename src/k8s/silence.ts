/**
 * How long an exec may say nothing before it is taken as hung (src/k8s/exec.ts): PGUPGRADE_EXEC_SILENCE_MS,
 * 120 s by default. The heartbeat of long scripts (src/postgres/heartbeat.ts) follows it.
 */
export const execSilenceMs = (): number => Number(process.env.PGUPGRADE_EXEC_SILENCE_MS) || 120_000;
