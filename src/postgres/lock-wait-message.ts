import type { Blocker } from './lock-wait.ts';
import { redactSecrets } from './redact.ts';

/**
 * The message of a lock timeout: what waited, on which relation, behind whom, and what to do. Pure. The query
 * text is an application's: its passwords are hidden (an `ALTER ROLE … PASSWORD` may be a session's last
 * statement) and it is cut to about 80 characters.
 */

/** The first ~80 characters of a query, on one line, passwords hidden. */
export function queryExcerpt(q: string | null): string {
  const one = redactSecrets(q ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  return one.length > 80 ? `${one.slice(0, 79)}…` : one;
}

/** One blocker as a sentence part: who, since when, doing what, and its lock. */
export function describeBlocker(b: Blocker & { database: string }): string {
  const lock = `${b.granted ? 'holds' : 'is queued for'} ACCESS EXCLUSIVE on ${b.relation} in database ${b.database}`;
  if (b.pid === null) {
    return `prepared transaction ${JSON.stringify(b.gid ?? '?')} (owner ${b.usename ?? '?'}, prepared ${b.xact_start ?? '?'}) ${lock}`;
  }
  const who = [
    `user ${b.usename ?? '?'}`,
    `application ${JSON.stringify(b.application_name ?? '')}`,
    b.client_addr ? `from ${b.client_addr}` : 'local',
    `${b.state ?? 'unknown state'}`,
    `transaction since ${b.xact_start ?? '?'}`,
  ];
  // pg_blocking_pids says 0 for a prepared transaction, which has no backend.
  const behind = (b.waiting_for ?? []).map((p) => (p === 0 ? 'a prepared transaction' : `pid ${p}`));
  const queued = b.granted
    ? ''
    : ` (reads queue behind it${behind.length ? `; it waits for ${behind.join(', ')}` : ''})`;
  return `pid ${b.pid} (${who.join(', ')}, query ${JSON.stringify(queryExcerpt(b.query))}) ${lock}${queued}`;
}

/** What ends each blocker: a backend is terminated, a prepared transaction committed or rolled back by its owner's decision. */
export function blockerRemedy(b: Blocker): string {
  if (b.pid === null) return `COMMIT PREPARED or ROLLBACK PREPARED ${sqlLiteral(b.gid ?? '')}`;
  return `SELECT pg_terminate_backend(${b.pid})`;
}

const sqlLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The whole message. `where` names the pod, `ms` the limit; `blockers` as read after the timeout, or the reason
 * they could not be read.
 */
export function lockTimeoutMessage(
  where: string,
  ms: number,
  blockers: Array<Blocker & { database: string }> | { error: string },
): string {
  const head =
    `a read-only session of the plugin in ${where} waited ${formatMs(ms)} for a lock and gave up (lock_timeout; ` +
    'PGUPGRADE_LOCK_TIMEOUT_MS sets the limit); it changed nothing.';
  const again = 'then run the command again (an upgrade resumes where it stopped).';
  if ('error' in blockers)
    return `${head} The blocking sessions could not be read (${blockers.error}): look for them in pg_locks (mode AccessExclusiveLock), ${again}`;
  if (blockers.length === 0) {
    return `${head} No ACCESS EXCLUSIVE lock is held any more: the blocker has ended; ${again.replace(/^then /, '')}`;
  }
  const remedies = [...new Set(blockers.map(blockerRemedy))].join('; ');
  return `${head} Blocked by: ${blockers.map(describeBlocker).join('; ')}. Let that transaction finish, or end it (${remedies}), ${again}`;
}

/** 30000 → "30 s", 1500 → "1.5 s". */
export function formatMs(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
