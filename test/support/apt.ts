import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { exclusive } from './lock.ts';
import { cacheDir } from './paths.ts';
import { formatBytes, toolWork } from './progress.ts';

const run = promisify(execFile);

/** A Debian suite to list in the private sources. */
export interface Suite {
  suite: string;
  components?: string[];
  uri?: string;
}

/** What to fetch: `packages` may pin a suite as `name/suite`. */
export interface FetchDebsOptions {
  name: string;
  suites: Suite[];
  packages: string[];
  dest: string;
}

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export function sourcesList(suites: Suite[], kind: 'deb' | 'deb-src' = 'deb'): string {
  return `${suites
    .map((s) => {
      const uri =
        s.uri ??
        (s.suite.endsWith('-security') ? 'http://deb.debian.org/debian-security' : 'http://deb.debian.org/debian');
      return `${kind} [signed-by=${KEYRING}] ${uri} ${s.suite} ${(s.components ?? ['main']).join(' ')}`;
    })
    .join('\n')}\n`;
}

/** apt's own client, pointed at a private sources list, lists and cache: nothing system-wide changes. */
export function aptArgs(dir: string): string[] {
  return [
    `-oDir::Etc::SourceList=${path.join(dir, 'sources.list')}`,
    '-oDir::Etc::SourceParts=/dev/null',
    `-oDir::State::Lists=${path.join(dir, 'lists')}`,
    `-oDir::Cache=${path.join(dir, 'cache')}`,
    '-oAPT::Sandbox::User=root',
    '-oDebug::NoLocking=1',
    '-qq',
  ];
}

export function stderrOf(err: unknown): string {
  return ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
}

/**
 * Downloads Debian packages from the given suites with apt's ordinary client and a private sources list, then
 * unpacks each with `dpkg -x` into `dest`. Every failure names what is missing: the suite that could not be
 * listed, or the package that no listed suite carries.
 */
export async function fetchDebs(opts: FetchDebsOptions): Promise<void> {
  const dir = cacheDir('apt', opts.name);
  const what = `fetching ${opts.packages
    .map((p) => p.split('/')[0])
    .slice(0, 2)
    .join(
      ', ',
    )}${opts.packages.length > 2 ? ` and ${opts.packages.length - 2} more` : ''} from Debian ${opts.suites[0]?.suite} with apt`;
  await toolWork(
    what,
    () => downloadAndUnpack(opts, dir),
    () => `${formatBytes(bytesUnder(dir))} fetched`,
  );
}

/** The bytes apt has written so far (package lists and .debs, partial downloads included). */
function bytesUnder(dir: string): number {
  let total = 0;
  try {
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name), { throwIfNoEntry: false })?.size ?? 0;
    }
  } catch {
    // apt renames and removes its partial files as it goes; a file gone mid-walk is counted next time.
  }
  return total;
}

async function downloadAndUnpack(opts: FetchDebsOptions, dir: string): Promise<void> {
  const debs = path.join(dir, 'debs');
  for (const d of ['lists/partial', 'cache/archives/partial', 'debs'])
    fs.mkdirSync(path.join(dir, d), { recursive: true });
  const list = sourcesList(opts.suites);
  const listFile = path.join(dir, 'sources.list');
  const updated = path.join(dir, '.updated');
  const stale = !fs.existsSync(listFile) || fs.readFileSync(listFile, 'utf8') !== list || !fs.existsSync(updated);
  fs.writeFileSync(listFile, list);
  if (stale) {
    fs.rmSync(updated, { force: true });
    try {
      await run('apt-get', [...aptArgs(dir), 'update'], { maxBuffer: 1 << 24 });
      fs.writeFileSync(updated, new Date().toISOString());
    } catch (err) {
      throw new Error(
        `apt-get update of suites ${opts.suites.map((s) => s.suite).join(', ')} failed: ${stderrOf(err)}`,
      );
    }
  }
  for (const pkg of opts.packages) {
    try {
      await run('apt-get', [...aptArgs(dir), 'download', pkg], { cwd: debs, maxBuffer: 1 << 24 });
    } catch (err) {
      const suites = opts.suites.map((s) => s.suite).join(', ');
      throw new Error(`package ${pkg} could not be had from ${suites}: ${stderrOf(err)}`);
    }
  }
  fs.mkdirSync(opts.dest, { recursive: true });
  for (const pkg of opts.packages) {
    const base = pkg.split('/')[0] as string;
    const deb = fs
      .readdirSync(debs)
      .filter((f) => f.startsWith(`${base}_`) && f.endsWith('.deb'))
      .sort()
      .pop();
    if (!deb) throw new Error(`package ${pkg}: apt-get download left no ${base}_*.deb in ${debs}`);
    await run('dpkg', ['-x', path.join(debs, deb), opts.dest]);
  }
}

/** Is this file an ELF object (executable or shared library)? */
function isElf(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(4);
    fs.readSync(fd, buf, 0, 4, 0);
    fs.closeSync(fd);
    return buf.toString('latin1') === '\x7fELF';
  } catch {
    return false;
  }
}

/** The ELF files (executables and shared libraries) under `dir`, recursively. */
export function elfFilesUnder(dir: string): string[] {
  return filesUnder(dir).filter(isElf);
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/**
 * Makes binaries from another Debian release run here: an absolute RPATH (not RUNPATH, so that it also covers
 * their libraries' own dependencies) on every ELF file under `dirs`, and, for executables, the prefix's own
 * dynamic loader when `interpreter` is given.
 */
export async function patchPrefix(dirs: string[], rpath: string[], interpreter?: string): Promise<void> {
  for (const dir of dirs) {
    // The loader and libc must stay as built: the loader is what runs everything else.
    for (const file of filesUnder(dir).filter((f) => isElf(f) && !/\/(ld-linux[^/]*|libc\.so[^/]*)$/.test(f))) {
      await run('patchelf', ['--force-rpath', '--set-rpath', rpath.join(':'), file]);
      if (interpreter && dir.endsWith('/bin')) await run('patchelf', ['--set-interpreter', interpreter, file]);
    }
  }
}

/** Installs Debian packages of this machine's own release when their command is missing (CI starts bare). */
export async function ensureHostPackages(commands: Record<string, string>): Promise<void> {
  const missing = Object.entries(commands)
    .filter(([cmd]) => !fs.existsSync(cmd) && !onPath(cmd))
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  // The system's apt takes its own lock and fails at once when another install holds it: wait our turn instead.
  await exclusive(cacheDir('apt', 'host-install.lock'), async () => {
    if (missing.some((pkg) => !dpkgInstalled(pkg))) {
      await toolWork(`installing ${missing.join(', ')} with apt-get`, () => installHostPackages(missing));
    }
  });
}

async function installHostPackages(wanted: string[]): Promise<void> {
  const missing = wanted.filter((pkg) => !dpkgInstalled(pkg));
  if (missing.length === 0) return;
  try {
    await run('apt-get', ['install', '-y', '-qq', ...missing], { maxBuffer: 1 << 24 });
  } catch {
    try {
      await run('apt-get', ['update', '-qq'], { maxBuffer: 1 << 24 });
      await run('apt-get', ['install', '-y', '-qq', ...missing], { maxBuffer: 1 << 24 });
    } catch (err) {
      throw new Error(`could not install ${missing.join(', ')} with apt-get: ${stderrOf(err)}`);
    }
  }
}

function dpkgInstalled(pkg: string): boolean {
  try {
    return /^install ok installed/m.test(
      execFileSync('dpkg-query', ['-W', '-f=${Status}\n', pkg], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
  } catch {
    return false;
  }
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && fs.existsSync(path.join(d, cmd)));
}
