/**
 * Clean-ups that must run when the user presses Ctrl-C (or the process gets SIGTERM), such as deleting a probe
 * pod. The CLI's signal handler runs them, bounded in time, before it exits 130.
 */
const cleanups = new Set<() => Promise<void>>();

/** Registers a clean-up; the returned function unregisters it once the normal path has done the work. */
export function onInterrupt(fn: () => Promise<void>): () => void {
  cleanups.add(fn);
  return () => void cleanups.delete(fn);
}

/** Runs every registered clean-up at once, waiting at most `timeoutMs`. */
export async function runInterruptCleanups(timeoutMs: number): Promise<void> {
  const all = Promise.allSettled([...cleanups].map((fn) => fn()));
  cleanups.clear();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
}
