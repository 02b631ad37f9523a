import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../paths.ts';

/** The built binary; `npm test` builds it before running the tests. */
export const binaryPath = path.join(repoRoot, 'dist', 'kubectl-pgupgrade');

/** What one run of a command printed and how it ended. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Fails with a clear message when the binary has not been built, instead of a confusing ENOENT. */
export function requireBinary(): string {
  if (!fs.existsSync(binaryPath)) throw new Error(`${binaryPath} is missing: run \`npm run build\` (npm test does it)`);
  return binaryPath;
}

/** Runs a command with a clean environment plus `env`, the way a user's shell would. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): RunResult {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb' };
  const r = spawnSync(cmd, args, { env: { ...base, ...env }, cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh directory that holds only a copy of the binary, as a user's PATH entry would. */
export function binaryAloneInDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-bin-'));
  fs.copyFileSync(requireBinary(), path.join(dir, 'kubectl-pgupgrade'));
  fs.chmodSync(path.join(dir, 'kubectl-pgupgrade'), 0o755);
  return dir;
}

/**
 * Runs a command without blocking the event loop: the node agent lives in the test process, so a synchronous
 * spawn would stop it from serving the very exec and probes that the command waits for.
 */
export function runAsync(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): Promise<RunResult> {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb' };
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal === 'SIGKILL' ? 137 : 128),
        stdout,
        stderr: signal === 'SIGKILL' ? `${stderr}\n(killed after ${timeoutMs / 1000} s)` : stderr,
      });
    });
  });
}
