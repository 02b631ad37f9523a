import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sharedControlPlane } from '../../support/cluster.ts';
import { ensureKrew } from '../../support/k8s/binaries.ts';
import { binaryAloneInDir, run } from '../../support/cli/binary.ts';
import { repoRoot } from '../../support/paths.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-krew-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('kubectl plugin list finds the binary alone on PATH, and kubectl pgupgrade runs it', async () => {
  const cp = await sharedControlPlane();
  const dir = binaryAloneInDir();
  const kubectlDir = path.dirname(cp.bins.kubectl);
  const env = { PATH: `${dir}:${kubectlDir}:/usr/bin:/bin`, KUBECONFIG: cp.kubeconfig };
  const list = run('kubectl', ['plugin', 'list'], env);
  assert.match(list.stdout, path.join(dir, 'kubectl-pgupgrade'), list.stderr);
  assert.is(run('kubectl', ['pgupgrade', '--help'], env).code, 0);
  const v = run('kubectl', ['pgupgrade', 'version', '-o', 'json'], env);
  assert.is(v.code, 0, v.stderr);
  assert.is(JSON.parse(v.stdout).server.gitVersion, cp.bins.version, 'the real apiserver answered /version');
  const bad = run('kubectl', ['pgupgrade', '-n', 'x', '--context', 'nope', 'version'], env);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, 'context "nope"');
  assert.match(bad.stderr, 'known contexts: pgupgrade-test');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('krew installs the linux_amd64 package from the manifest that npm run package renders, and its shim runs', async () => {
  const cp = await sharedControlPlane();
  const krew = await ensureKrew();
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'package.ts')], { cwd: repoRoot, stdio: 'pipe' });
  const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
  const archive = path.join(repoRoot, 'dist', `kubectl-pgupgrade_${version}_linux_amd64.tar.gz`);
  const manifest = path.join(repoRoot, 'dist', 'krew-manifest.yaml');
  const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
  fs.copyFileSync(krew, path.join(bin, 'kubectl-krew'));
  fs.chmodSync(path.join(bin, 'kubectl-krew'), 0o755);
  const krewRoot = path.join(tmp, 'krew-root');
  const env = {
    PATH: `${path.join(krewRoot, 'bin')}:${bin}:${path.dirname(cp.bins.kubectl)}:/usr/bin:/bin`,
    KREW_ROOT: krewRoot,
    KREW_NO_UPGRADE_CHECK: '1',
    KUBECONFIG: cp.kubeconfig,
  };
  const install = run('kubectl', ['krew', 'install', `--manifest=${manifest}`, `--archive=${archive}`], env);
  assert.is(install.code, 0, install.stdout + install.stderr);
  assert.match(install.stdout + install.stderr, 'Installed plugin: pgupgrade');
  assert.ok(fs.lstatSync(path.join(krewRoot, 'bin', 'kubectl-pgupgrade')).isSymbolicLink(), 'krew made its shim');
  const v = run('kubectl', ['pgupgrade', 'version', '-o', 'json'], env);
  assert.is(v.code, 0, v.stderr);
  const report = JSON.parse(v.stdout);
  assert.is(report.version, version);
  assert.is(report.server.gitVersion, cp.bins.version);
  // `krew list` needs the plugin index (a git clone); the receipt is what it would read.
  const receipt = fs.readFileSync(path.join(krewRoot, 'receipts', 'pgupgrade.yaml'), 'utf8');
  assert.match(receipt, `version: v${version}`);
});

test.run();
