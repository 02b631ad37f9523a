import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The persistent cache for downloaded and built test tools, outside the repo so that a fresh clone on the same
 * machine (CI) reuses it: `${XDG_CACHE_HOME:-~/.cache}/kubectl-pgupgrade/...`.
 */
export function cacheDir(...parts: string[]): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  // The sandbox binds the cached binaries at their own path; a pod that mounts a volume at /tmp (most do) would
  // hide a cache under /tmp, and the binaries would vanish inside it.
  if (/^\/tmp(\/|$)/.test(path.resolve(base))) {
    throw new Error(
      `XDG_CACHE_HOME=${base} is under /tmp, which pods mount over: their PostgreSQL binaries would vanish; use a directory elsewhere`,
    );
  }
  return path.join(base, 'kubectl-pgupgrade', ...parts);
}

/** Scratch space for one test run's servers and data; removed by their teardowns. */
export function stateDir(...parts: string[]): string {
  return path.join(os.tmpdir(), 'kubectl-pgupgrade-test', ...parts);
}
