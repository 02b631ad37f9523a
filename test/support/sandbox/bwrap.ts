import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ensureHostPackages } from '../apt.ts';
import type { PgInstall } from '../pg/fetch.ts';
import { trackChild } from '../teardown.ts';
import type { ImageSpec } from './images.ts';
import { imageLayout, imageScriptArgs, imageScripts } from './layout-fs.ts';

/** A host directory or file bound into the container. */
export interface Mount {
  hostPath: string;
  mountPath: string;
  readOnly?: boolean;
}

/** Everything a container needs to start "as in its image". */
export interface SandboxSpec {
  image: ImageSpec;
  installs: PgInstall[];
  command: string[];
  env: Record<string, string>;
  uid: number;
  gid: number;
  groups?: number[];
  mounts: Mount[];
  cwd?: string;
  hostname?: string;
  /** Join this network namespace (a pod's); without it the container shares the host network. */
  netnsPath?: string;
  /** The pod's hosts file, bound at /etc/hosts and rewritten in place by the agent. */
  hostsFile?: string;
  /** A host directory of this container's own, for its /etc/passwd, /etc/group and the like. */
  scratchDir: string;
  stdin?: boolean;
}

/** A running container. */
export interface SandboxProcess {
  /** The host pid of the container's main process (pid 1 in its pid namespace), once known. */
  pid: Promise<number>;
  stdin?: Writable;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<{ code: number; signal?: string }>;
  signal(sig: NodeJS.Signals): void;
}

/** /var/run is a symlink to /run, which bwrap does not follow when it makes mount points. */
function canonical(mountPath: string): string {
  return mountPath.startsWith('/var/run/') ? mountPath.slice(4) : mountPath;
}

function fsArgs(spec: SandboxSpec): string[] {
  const a = [
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/bin',
    '/bin',
    '--symlink',
    'usr/sbin',
    '/sbin',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--ro-bind',
    '/etc',
    '/etc',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--perms',
    '1777',
    '--tmpfs',
    '/dev/shm',
    '--perms',
    '1777',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/run',
    '--perms',
    '1777',
    '--dir',
    '/run/postgresql',
    '--perms',
    '0755',
    '--dir',
    '/var',
    '--perms',
    '0755',
    '--dir',
    '/var/lib',
    // /root is 0755, not the images' 0700: the cached PostgreSQL prefixes under /root/.cache must be reachable.
    '--symlink',
    '../run',
    '/var/run',
    '--perms',
    '0755',
    '--dir',
    '/root',
  ];
  const owns = [...new Set(spec.installs.flatMap((i) => i.ownPaths))];
  const scriptTargets = imageScripts(spec.image).map(([, t]) => t);
  const layout = spec.image.flavour === 'bitnami' ? ['/opt/bitnami/postgresql/bin'] : [];
  a.push(...parentDirs([...owns, ...spec.mounts.map((m) => canonical(m.mountPath)), ...scriptTargets, ...layout]));
  for (const own of owns) a.push('--ro-bind', own, own);
  a.push('--tmpfs', '/usr/lib/postgresql', '--tmpfs', '/usr/share/postgresql');
  for (const i of spec.installs) {
    a.push(
      '--ro-bind',
      i.libDir,
      `/usr/lib/postgresql/${i.major}`,
      '--ro-bind',
      i.shareDir,
      `/usr/share/postgresql/${i.major}`,
    );
  }
  a.push(...imageLayout(spec), ...imageScriptArgs(spec));
  fs.writeFileSync(path.join(spec.scratchDir, 'passwd'), `${spec.image.passwd.join('\n')}\n`);
  fs.writeFileSync(path.join(spec.scratchDir, 'group'), `${spec.image.group.join('\n')}\n`);
  fs.writeFileSync(path.join(spec.scratchDir, 'resolv.conf'), 'options ndots:5 timeout:1 attempts:1\n');
  a.push(
    '--ro-bind',
    path.join(spec.scratchDir, 'passwd'),
    '/etc/passwd',
    '--ro-bind',
    path.join(spec.scratchDir, 'group'),
    '/etc/group',
    '--ro-bind',
    path.join(spec.scratchDir, 'resolv.conf'),
    '/etc/resolv.conf',
  );
  if (spec.hostsFile) a.push('--ro-bind', spec.hostsFile, '/etc/hosts');
  const mounts = [...spec.mounts].sort((x, y) => x.mountPath.split('/').length - y.mountPath.split('/').length);
  for (const m of mounts) a.push(m.readOnly ? '--ro-bind' : '--bind', m.hostPath, canonical(m.mountPath));
  return a;
}

// Mount points bwrap would otherwise create itself, as root, with mode 0700, which a non-root UID cannot cross.
// Below the host's own trees the directories exist already; /tmp and /run are fresh tmpfs mounts, so a cache that
// lives under /tmp (XDG_CACHE_HOME=/tmp/…) needs its ancestors made there too.
const SYSTEM = ['/usr', '/etc', '/proc', '/dev', '/bin', '/sbin', '/lib', '/lib64'];
const TMPFS = ['/tmp', '/run'];

/** `--perms 0755 --dir` for every ancestor of the targets that bwrap would create. */
export function parentDirs(targets: string[]): string[] {
  const dirs = new Set<string>();
  for (const t of targets) {
    for (
      let d = path.dirname(t);
      d !== '/' && !TMPFS.includes(d) && !SYSTEM.some((s) => d === s || d.startsWith(`${s}/`));
      d = path.dirname(d)
    )
      dirs.add(d);
  }
  return [...dirs]
    .sort((x, y) => x.split('/').length - y.split('/').length)
    .flatMap((d) => ['--perms', '0755', '--dir', d]);
}

/**
 * Starts a container with bubblewrap: the image's file layout over the host's /usr, the pod's volumes at their
 * mount paths, the pod's network namespace and hosts file, and the process run as `uid:gid`. Non-root
 * containers drop to their UID with setpriv after the mounts are made, so files on volumes keep their real
 * owners. The command is pid 1 of its own pid namespace, so signals reach it as they would in a container.
 */
export function startSandbox(spec: SandboxSpec): SandboxProcess {
  fs.mkdirSync(spec.scratchDir, { recursive: true });
  const bw = [
    '--die-with-parent',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--as-pid-1',
    '--info-fd',
    '3',
    '--hostname',
    spec.hostname ?? 'sandbox',
    ...fsArgs(spec),
    '--chdir',
    spec.cwd ?? spec.image.workingDir,
  ];
  const drop =
    spec.uid === 0
      ? []
      : [
          'setpriv',
          `--reuid=${spec.uid}`,
          `--regid=${spec.gid}`,
          spec.groups?.length ? `--groups=${spec.groups.join(',')}` : '--clear-groups',
          '--inh-caps=-all',
          '--bounding-set=-all',
          '--',
        ];
  const argv = [
    ...(spec.netnsPath ? ['nsenter', `--net=${spec.netnsPath}`, '--'] : []),
    'bwrap',
    ...bw,
    '--',
    ...drop,
    ...spec.command,
  ];
  // The environment goes to bwrap as its own environment, never as arguments: no secret on a command line.
  const child = trackChild(
    spawn(argv[0] as string, argv.slice(1), {
      env: spec.env,
      stdio: [spec.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
    }),
  );
  const pid = new Promise<number>((resolve, reject) => {
    let info = '';
    const fd3 = child.stdio[3] as Readable;
    fd3.on('data', (d: Buffer) => {
      info += d.toString();
      const m = /"child-pid":\s*(\d+)/.exec(info);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`container exited before it started: ${spec.command.join(' ')}`)));
  });
  pid.catch(() => {});
  const exited = new Promise<{ code: number; signal?: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? { code: 128, signal } : { code: code ?? 1 })),
  );
  return {
    pid,
    stdin: child.stdin ?? undefined,
    stdout: child.stdout as Readable,
    stderr: child.stderr as Readable,
    exited,
    signal: (sig) => {
      void pid.then(
        (p) => {
          try {
            process.kill(p, sig);
          } catch {
            // already gone
          }
        },
        () => undefined,
      ); // it never started: nothing to signal (and no unhandled rejection to end the run)
      if (sig === 'SIGKILL') setTimeout(() => child.kill('SIGKILL'), 200).unref();
    },
  };
}

/** Runs a command in a sandbox to completion, collecting its output. */
export async function execInSandbox(
  spec: SandboxSpec,
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = startSandbox({ ...spec, stdin: input !== undefined });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  if (input !== undefined) p.stdin?.end(input);
  // 'exit' can come before the last output is read: wait for both pipes to end too (an empty psql answer was seen).
  const ended = (s: NodeJS.ReadableStream) =>
    new Promise<void>((res) => {
      s.once('end', res);
      s.once('close', res);
    });
  const [{ code }] = await Promise.all([p.exited, ended(p.stdout), ended(p.stderr)]);
  return { code, stdout, stderr };
}

/**
 * Installs what the sandbox runs on (bubblewrap, and nss_wrapper for images that use it) on a bare machine, and
 * generates the en_US.UTF-8 locale that the official images generate for themselves (their LANG).
 */
export async function ensureSandboxHost(): Promise<void> {
  await ensureHostPackages({
    bwrap: 'bubblewrap',
    '/usr/lib/x86_64-linux-gnu/libnss_wrapper.so': 'libnss-wrapper',
    setpriv: 'util-linux',
    '/usr/share/i18n/locales/en_US': 'locales',
  });
  const have = execFileSync('locale', ['-a'], { encoding: 'utf8' });
  if (!/^en_US\.utf8$/m.test(have)) {
    execFileSync('localedef', [
      '-i',
      'en_US',
      '-c',
      '-f',
      'UTF-8',
      '-A',
      '/usr/share/locale/locale.alias',
      'en_US.UTF-8',
    ]);
  }
}
