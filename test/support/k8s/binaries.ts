import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exclusive } from '../lock.ts';
import { cacheDir, repoRoot } from '../paths.ts';
import { toolWork } from '../progress.ts';

/** The Kubernetes release the test control plane is built from (see build/go.mod). */
export const K8S_VERSION = 'v1.35.4';
/** krew, built from its own module for the plugin's krew acceptance test. */
export const KREW_VERSION = 'v0.4.4';

/** Paths of the built control-plane binaries. */
export interface K8sBinaries {
  version: string;
  apiserver: string;
  controllerManager: string;
  kubectl: string;
}

const COMMANDS = ['kube-apiserver', 'kube-controller-manager', 'kubectl'];

function ldflags(version: string): string {
  const [, major, minor] = /^v(\d+)\.(\d+)/.exec(version) ?? [];
  const flags = ['-s', '-w'];
  for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(
      `-X ${p}.gitVersion=${version}`,
      `-X ${p}.gitMajor=${major}`,
      `-X ${p}.gitMinor=${minor}`,
      `-X ${p}.gitTreeState=clean`,
      `-X ${p}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return flags.join(' ');
}

/**
 * Runs `go build -v` (GOFLAGS=-mod=mod) through toolWork: its stderr names each module downloaded and each
 * package compiled, and the heartbeat counts them, so a 6-minute cold build shows that it moves.
 */
async function goBuild(args: string[], cwd: string, what: string): Promise<void> {
  let modules = 0;
  let packages = 0;
  let tail = '';
  const measure = () =>
    [modules ? `${modules} modules downloaded` : '', `${packages} packages compiled`].filter(Boolean).join(', ');
  await toolWork(
    `building ${what} with Go`,
    async () => {
      const child = spawn('go', [args[0] as string, '-v', ...args.slice(1)], {
        cwd,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, GOFLAGS: '-mod=mod' },
      });
      let partial = '';
      child.stderr.on('data', (d: Buffer) => {
        tail = (tail + d.toString()).slice(-3000);
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() as string;
        for (const l of lines) {
          if (l.startsWith('go: downloading ')) modules++;
          else if (l.trim() && !l.startsWith('#') && !l.startsWith('go: ')) packages++;
        }
      });
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
      if (code !== 0) throw new Error(`go ${args.slice(0, 2).join(' ')} of ${what} failed (exit ${code}): ${tail}`);
    },
    measure,
  );
}

/**
 * The control-plane binaries, built once per version from the k8s.io/kubernetes module through the Go module
 * proxy and cached outside the repo. kube-scheduler is not built: the node agent binds pods itself.
 */
export async function ensureK8sBinaries(): Promise<K8sBinaries> {
  const bin = cacheDir('k8s', K8S_VERSION, 'bin');
  const out: K8sBinaries = {
    version: K8S_VERSION,
    apiserver: path.join(bin, 'kube-apiserver'),
    controllerManager: path.join(bin, 'kube-controller-manager'),
    kubectl: path.join(bin, 'kubectl'),
  };
  const missingNow = () => COMMANDS.filter((c) => !fs.existsSync(path.join(bin, c)));
  if (missingNow().length === 0) return out;
  return exclusive(`${bin}.lock`, async () => {
    const missing = missingNow();
    if (missing.length > 0) {
      fs.mkdirSync(bin, { recursive: true });
      const buildDir = path.join(repoRoot, 'test', 'support', 'k8s', 'build');
      await goBuild(
        [
          'build',
          '-trimpath',
          '-ldflags',
          ldflags(K8S_VERSION),
          '-o',
          `${bin}/`,
          ...missing.map((c) => `k8s.io/kubernetes/cmd/${c}`),
        ],
        buildDir,
        `${missing.join(', ')} ${K8S_VERSION}`,
      );
    }
    return out;
  });
}

/**
 * krew, built from its own module (krew-build/go.mod) and cached. `go install krew@version` is not used
 * because it asks the proxy for the module's version list, which the proxy here refuses.
 */
export async function ensureKrew(): Promise<string> {
  const krew = path.join(cacheDir('krew', KREW_VERSION, 'bin'), 'krew');
  if (fs.existsSync(krew)) return krew;
  return exclusive(`${path.dirname(krew)}.lock`, async () => {
    if (!fs.existsSync(krew)) {
      fs.mkdirSync(path.dirname(krew), { recursive: true });
      await goBuild(
        ['build', '-trimpath', '-ldflags', '-s -w', '-o', krew, 'sigs.k8s.io/krew/cmd/krew'],
        path.join(repoRoot, 'test', 'support', 'k8s', 'krew-build'),
        `krew ${KREW_VERSION}`,
      );
    }
    return krew;
  });
}
