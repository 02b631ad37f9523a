import { CliError, ExitCode } from '../exit-codes.ts';
import { isInterrupted } from '../interrupt.ts';
import { isTransient } from '../k8s/retry.ts';

const POLL_MS = 250;

/** Polls until `fn` gives a value, or fails with a message that says what was awaited and what to look at. */
export async function poll<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
  hint = '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    let v: T | undefined;
    try {
      v = await fn();
    } catch (err) {
      // An apiserver that is briefly unreachable or overloaded is waited out, within the same deadline.
      if (!isTransient(err)) throw err;
      lastError = (err as Error).message;
    }
    if (v !== undefined) return v;
    if (lastError && Date.now() > deadline)
      throw new CliError(`the apiserver did not answer while waiting for ${what}: ${lastError}`, ExitCode.failed);
    if (isInterrupted()) throw new Error('interrupted');
    if (Date.now() > deadline)
      throw new CliError(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${hint ? `; ${hint}` : ''}`,
        ExitCode.failed,
      );
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
