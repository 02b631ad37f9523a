/**
 * An apiserver that is briefly unreachable or overloaded (a restart, a partition, a busy control plane) answers
 * reads again a moment later: reads are retried within a bound, so that a blip does not fail a step of an
 * upgrade in the middle of its downtime. Writes are not retried here: their callers know whether a repeat is safe.
 */

/** Errors worth retrying: the connection failed, or the apiserver said it is overloaded or unavailable. */
export function isTransient(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: string }; message?: string };
  const code = typeof e.code === 'number' ? e.code : undefined;
  if (code !== undefined) return code === 429 || code >= 500;
  const text = `${typeof e.code === 'string' ? e.code : ''} ${e.cause?.code ?? ''} ${e.message ?? ''}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up|fetch failed|network|timed out|timeout/i.test(
    text,
  );
}

/** Runs a read, retrying transient failures with a growing pause for up to `budgetMs` (default 30 s). */
export async function retryRead<T>(fn: () => Promise<T>, budgetMs = 30_000): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let pause = 250; ; pause = Math.min(pause * 2, 4000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() + pause > deadline) throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
