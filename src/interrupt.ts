/**
 * Clean-ups that must run when the user presses Ctrl-C (or the process gets SIGTERM), such as deleting a probe
 * pod. The CLI's signal handler runs them, bounded in time, before it exits 130. The interrupted task flow may
 * still be mid-step meanwhile: a clean-up registered after the interrupt runs at once (and is awaited too), and
 * code about to create something asks isInterrupted() first.
 */
const cleanups = new Set<() => Promise<void>>();
const running = new Set<Promise<unknown>>();
let interrupted = false;

let lastActivity = 0;
/** A create already on the wire when Ctrl-C came registers its clean-up when it returns: wait that long for it. */
const SETTLE_MS = 400;

function track(fn: () => Promise<void>): void {
  lastActivity = Date.now();
  const p = fn().catch(() => undefined);
  running.add(p);
  void p.finally(() => {
    running.delete(p);
    lastActivity = Date.now();
  });
}

/** Registers a clean-up; the returned function unregisters it once the normal path has done the work. */
export function onInterrupt(fn: () => Promise<void>): () => void {
  if (interrupted) {
    track(fn);
    return () => undefined;
  }
  cleanups.add(fn);
  return () => void cleanups.delete(fn);
}

/** True once Ctrl-C was pressed: create nothing more. */
export function isInterrupted(): boolean {
  return interrupted;
}

/**
 * Runs every registered clean-up at once, and any registered while they run or shortly after, waiting at most
 * `timeoutMs`.
 */
export async function runInterruptCleanups(timeoutMs: number): Promise<void> {
  interrupted = true;
  for (const fn of cleanups) track(fn);
  cleanups.clear();
  const deadline = Date.now() + timeoutMs;
  lastActivity = Date.now();
  while ((running.size > 0 || Date.now() - lastActivity < SETTLE_MS) && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise((r) => (timer = setTimeout(r, 50)));
    await (running.size > 0 ? Promise.race([Promise.allSettled([...running]), tick]) : tick);
    clearTimeout(timer);
  }
}
