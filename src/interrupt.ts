/**
 * Clean-ups that must run when the user presses Ctrl-C (or the process gets SIGTERM), such as deleting a probe
 * pod. The CLI's signal handler runs them, bounded in time, before it exits 130. The interrupted task flow may
 * still be mid-step meanwhile: a clean-up registered after the interrupt runs at once (and is awaited too), and
 * code about to create something asks isInterrupted() first.
 */
const cleanups = new Set<() => Promise<void>>();
/** Clean-ups that the others need until they end (the lock they write the record under): run once those have ended. */
const lastCleanups = new Set<() => Promise<void>>();
const running = new Set<Promise<unknown>>();
let interrupted = false;
let lastStarted = false;
let othersEnded: () => void = () => undefined;
const ended = new Promise<void>((r) => (othersEnded = r));

let lastActivity = 0;
/** A create already on the wire when Ctrl-C came registers its clean-up when it returns: wait that long for it. */
const SETTLE_MS = 400;

function track(fn: () => Promise<void>): void {
  lastActivity = Date.now();
  // A clean-up that throws at once is one that failed, like one that rejects: the others and the last ones still run.
  const p = Promise.resolve()
    .then(fn)
    .catch(() => undefined);
  running.add(p);
  void p.finally(() => {
    running.delete(p);
    lastActivity = Date.now();
  });
}

/**
 * Registers a clean-up; the returned function unregisters it once the normal path has done the work. `last`: it
 * runs once every other clean-up has ended (the lock's release: the others may still write the record under it).
 */
export function onInterrupt(fn: () => Promise<void>, opts: { last?: boolean } = {}): () => void {
  if (interrupted && (!opts.last || lastStarted)) {
    track(fn);
    return () => undefined;
  }
  const set = opts.last ? lastCleanups : cleanups;
  set.add(fn);
  return () => void set.delete(fn);
}

/** After Ctrl-C: resolves once the clean-ups but the last ones have ended (or their share of the time is out). */
export const othersSettled = (): Promise<void> => ended;

/** True once Ctrl-C was pressed: create nothing more. */
export function isInterrupted(): boolean {
  return interrupted;
}

/**
 * Runs every registered clean-up at once, and any registered while they run or shortly after, then the last ones,
 * waiting at most `timeoutMs` in all.
 */
export async function runInterruptCleanups(timeoutMs: number): Promise<void> {
  interrupted = true;
  for (const fn of cleanups) track(fn);
  cleanups.clear();
  const deadline = Date.now() + timeoutMs;
  // The last ones get a share of the time of their own, whatever the others took.
  await settle(deadline - Math.min(LAST_SHARE_MS, timeoutMs / 2));
  lastStarted = true;
  for (const fn of lastCleanups) track(fn);
  lastCleanups.clear();
  othersEnded();
  await settle(deadline);
}

/** How long of the clean-ups' time is kept for the last ones (a Lease's release is two requests). */
const LAST_SHARE_MS = 3_000;

/** Waits until every running clean-up has ended and none came for a moment, or the deadline. */
async function settle(deadline: number): Promise<void> {
  lastActivity = Date.now();
  while ((running.size > 0 || Date.now() - lastActivity < SETTLE_MS) && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise((r) => (timer = setTimeout(r, 50)));
    await (running.size > 0 ? Promise.race([Promise.allSettled([...running]), tick]) : tick);
    clearTimeout(timer);
  }
}
