import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const inProcess = new Map<string, Promise<unknown>>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquire(dir: string): Promise<void> {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const owner = path.join(dir, 'pid');
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(owner, String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // A lock whose owner died (or which never got its pid file written, after a grace period) is taken over.
    let pid = 0;
    try {
      pid = Number(fs.readFileSync(owner, 'utf8'));
    } catch {
      const age = Date.now() - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10_000) fs.rmSync(dir, { recursive: true, force: true });
    }
    if (pid > 0 && !alive(pid)) fs.rmSync(dir, { recursive: true, force: true });
    await sleep(200);
  }
}

/**
 * Runs `fn` once at a time for `name`, across the test processes of this machine (the agent, the e2e files and
 * scripts may all fetch the same tool at once): an in-process memo joins concurrent callers, and a lock
 * directory beside the cache serialises processes. `fn` must itself be idempotent (re-check its marker).
 */
export function exclusive<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const pending = inProcess.get(lockDir) as Promise<T> | undefined;
  if (pending) return pending;
  const p = (async () => {
    await acquire(lockDir);
    try {
      return await fn();
    } finally {
      fs.rmSync(lockDir, { recursive: true, force: true });
    }
  })();
  inProcess.set(lockDir, p);
  p.then(
    () => inProcess.delete(lockDir),
    () => inProcess.delete(lockDir),
  );
  return p;
}
