import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { trackChild } from './teardown.ts';

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the server to bind). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A long-running server process whose output goes to a log file. */
export interface Daemon {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
  stop(timeoutMs?: number): Promise<void>;
  tail(lines?: number): string;
}

/** Starts a server in its own process group, logging to `logFile`; it is killed if the test process dies. */
export function startDaemon(
  name: string,
  cmd: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = {},
): Daemon {
  const fd = fs.openSync(logFile, 'a');
  const child = trackChild(
    spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true, env: { ...process.env, ...env } }),
  );
  fs.closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const tail = (lines = 30) =>
    fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n') : '';
  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  return { name, child, logFile, exited, stop, tail };
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, sig);
  } catch {
    child.kill(sig);
  }
}

/** Polls `check` until it returns true, failing with `what` and the daemon's log tail after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  daemon?: Daemon,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (daemon && daemon.child.exitCode !== null) {
      throw new Error(
        `${daemon.name} exited with ${daemon.child.exitCode} while waiting for ${what}:\n${daemon.tail()}`,
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}` +
      (daemon ? `\n--- ${daemon.name} log ---\n${daemon.tail()}` : ''),
  );
}
