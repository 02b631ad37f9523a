import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { startSandbox, type SandboxProcess, type SandboxSpec } from '../sandbox/bwrap.ts';
import { trackChild } from '../teardown.ts';
import type { ExecProcess, LogOptions } from './kubelet-server.ts';

/** Everything one run of a container needs; the pod worker builds it. */
export type ContainerLaunch = Omit<SandboxSpec, 'stdin' | 'groups' | 'hostname' | 'netnsPath' | 'hostsFile'> & {
  groups: number[];
  hostname: string;
  netnsPath: string;
  hostsFile: string;
  logFile: string;
};

/** A running container: its sandbox, and the identity that exec and probes must take inside it. */
export interface RunningContainer {
  launch: ContainerLaunch;
  proc: SandboxProcess;
  done: boolean;
}

/** Starts one run of a container; its stdout and stderr go to its log file, as the kubelet's do. */
export function runContainer(launch: ContainerLaunch): RunningContainer {
  const proc = startSandbox(launch);
  const log = fs.createWriteStream(launch.logFile, { flags: 'a' });
  let open = 2;
  const end = () => --open === 0 && log.end();
  proc.stdout.on('data', (d: Buffer) => log.write(d));
  proc.stderr.on('data', (d: Buffer) => log.write(d));
  proc.stdout.on('close', end);
  proc.stderr.on('close', end);
  const rc: RunningContainer = { launch, proc, done: false };
  void proc.exited.then(() => (rc.done = true));
  return rc;
}

/**
 * Runs a command inside a running container, as `kubectl exec` does: in its mount, pid, network, uts and ipc
 * namespaces, as its UID, with its environment (passed as the environment, never as arguments).
 */
export function execIn(rc: RunningContainer, command: string[], opts: { stdin: boolean }): ExecProcess {
  const out = new PassThrough();
  const err = new PassThrough();
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => (resolveExit = r));
  const stdin = opts.stdin ? new PassThrough() : undefined;
  void rc.proc.pid.then(
    (pid) => {
      const l = rc.launch;
      const drop =
        l.uid === 0
          ? []
          : [
              'setpriv',
              `--reuid=${l.uid}`,
              `--regid=${l.gid}`,
              l.groups.length ? `--groups=${l.groups.join(',')}` : '--clear-groups',
              '--inh-caps=-all',
              '--',
            ];
      const child = trackChild(
        spawn(
          'nsenter',
          [
            `--target=${pid}`,
            '--mount',
            '--uts',
            '--ipc',
            '--net',
            '--pid',
            '--root',
            // Bare --wd takes the container's own working directory; --wd=DIR resolves DIR before the chroot.
            '--wd',
            '--',
            ...drop,
            ...command,
          ],
          { env: l.env, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] },
        ),
      );
      child.stdout?.pipe(out);
      child.stderr?.pipe(err);
      if (stdin && child.stdin) {
        // A command that exits before reading all its input (psql refused at connect) closes the pipe: as a kubelet,
        // drop the rest instead of ending the whole agent on EPIPE.
        child.stdin.on('error', () => undefined);
        stdin.pipe(child.stdin);
      }
      child.on('error', (e) => {
        err.end(`exec failed: ${e.message}\n`);
        out.end();
        resolveExit(126);
      });
      child.on('close', (code, signal) => resolveExit(signal ? 137 : (code ?? 1)));
    },
    (e: Error) => {
      err.end(`container is not running: ${e.message}\n`);
      out.end();
      resolveExit(126);
    },
  );
  return { stdin, stdout: out, stderr: err, exited };
}

/** Runs a probe command in the container and reports success within the timeout. */
export async function execProbe(rc: RunningContainer, command: string[], timeoutMs: number): Promise<boolean> {
  const p = execIn(rc, command, { stdin: false });
  p.stdout.resume();
  p.stderr?.resume();
  const timer = new Promise<number>((r) => setTimeout(() => r(-1), timeoutMs).unref());
  return (await Promise.race([p.exited, timer])) === 0;
}

/** A TCP connect to the pod's address from inside its network namespace, as the kubelet's tcpSocket probe. */
export function tcpProbe(netnsPath: string, ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(
      'nsenter',
      [
        `--net=${netnsPath}`,
        '--',
        'timeout',
        String(Math.max(1, Math.ceil(timeoutMs / 1000))),
        'bash',
        '-c',
        `exec 3<>/dev/tcp/${ip}/${port}`,
      ],
      { stdio: 'ignore' },
    );
    child.on('close', (code) => resolve(code === 0));
    child.on('error', () => resolve(false));
  });
}

/** Streams a container's log file: the tail, then (with follow) new lines until the container stops. */
export function streamLog(file: string, opts: LogOptions, running: () => boolean): Readable {
  const out = new PassThrough();
  let pos = 0;
  const text = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
  let start = text;
  if (opts.tailLines !== undefined) {
    const lines = text.toString().split('\n');
    const keep = lines.slice(Math.max(0, lines.length - 1 - opts.tailLines));
    start = Buffer.from(keep.join('\n'));
  }
  if (opts.limitBytes !== undefined) start = start.subarray(0, opts.limitBytes);
  out.write(start);
  pos = text.length;
  if (!opts.follow) {
    out.end();
    return out;
  }
  const timer = setInterval(() => {
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    if (size > pos) {
      const fd = fs.openSync(file, 'r');
      const buf = Buffer.alloc(size - pos);
      fs.readSync(fd, buf, 0, buf.length, pos);
      fs.closeSync(fd);
      pos = size;
      out.write(buf);
    } else if (!running()) {
      clearInterval(timer);
      out.end();
    }
  }, 200);
  out.on('close', () => clearInterval(timer));
  return out;
}
