import type { ChildProcess } from 'node:child_process';

type Teardown = () => void | Promise<void>;

interface Registry {
  fns: Teardown[];
  children: Set<ChildProcess>;
  exitHooked: boolean;
}

function registry(): Registry {
  const g = globalThis as { __pgupgradeTeardowns?: Registry };
  g.__pgupgradeTeardowns ??= { fns: [], children: new Set(), exitHooked: false };
  return g.__pgupgradeTeardowns;
}

/**
 * Registers work that must run once every test has finished (stopping servers, removing temp dirs). The test
 * runner calls {@link runTeardowns}; a test file run on its own should call it from its last `test.after`.
 */
export function onTeardown(fn: Teardown): void {
  registry().fns.push(fn);
}

/**
 * Tracks a child process so that it is SIGKILLed if the process exits without a teardown (a crash, a
 * process.exit), because a leaked postgres or apiserver would hold ports and disk for the next run.
 */
export function trackChild(child: ChildProcess): ChildProcess {
  const reg = registry();
  reg.children.add(child);
  child.once('exit', () => reg.children.delete(child));
  if (!reg.exitHooked) {
    reg.exitHooked = true;
    process.once('exit', () => {
      for (const c of reg.children) {
        try {
          if (c.pid) process.kill(-c.pid, 'SIGKILL');
        } catch {
          c.kill('SIGKILL');
        }
      }
    });
  }
  return child;
}

/** Runs the registered teardowns, newest first, and reports failures without stopping the others. */
export async function runTeardowns(): Promise<string[]> {
  const reg = registry();
  const errors: string[] = [];
  while (reg.fns.length > 0) {
    const fn = reg.fns.pop() as Teardown;
    try {
      await fn();
    } catch (err) {
      errors.push((err as Error).stack ?? String(err));
    }
  }
  return errors;
}
