import { CliError, ExitCode } from '../exit-codes.ts';
import { parseBlockers } from '../postgres/lock-wait.ts';
import { lockTimeoutMessage } from '../postgres/lock-wait-message.ts';

/** A read that gave up waiting for a lock (lock_timeout): its message names the blockers and what to do. */
export class LockTimeoutError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.failed);
    this.name = 'LockTimeoutError';
  }
}

/**
 * The error for a lock timeout in `where`, with the blockers that `read` finds (BLOCKERS_SQL per database, in a
 * session of its own: the timed-out one has ended, and its own pg_blocking_pids with it). A failure to read them
 * is said in the message, never thrown instead of it.
 */
export async function lockTimeoutError(
  where: string,
  ms: number,
  read: () => Promise<Map<string, string>>,
): Promise<LockTimeoutError> {
  let blockers: Parameters<typeof lockTimeoutMessage>[2];
  try {
    blockers = parseBlockers(await read());
  } catch (err) {
    blockers = { error: (err as Error).message };
  }
  return new LockTimeoutError(lockTimeoutMessage(where, ms, blockers));
}
