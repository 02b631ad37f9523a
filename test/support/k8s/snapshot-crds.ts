import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { exclusive } from '../lock.ts';
import { cacheDir } from '../paths.ts';
import { toolWork } from '../progress.ts';

const run = promisify(execFile);

/** The Go module that Kubernetes' CSI snapshotter publishes its CRDs in (config/crd/), pinned. */
export const SNAPSHOTTER_MODULE = 'github.com/kubernetes-csi/external-snapshotter/client/v8';
export const SNAPSHOTTER_VERSION = 'v8.7.0';

/** The CRDs the tests and the plugin use: VolumeSnapshot, VolumeSnapshotContent, VolumeSnapshotClass. */
const CRD_FILES = [
  'snapshot.storage.k8s.io_volumesnapshotclasses.yaml',
  'snapshot.storage.k8s.io_volumesnapshotcontents.yaml',
  'snapshot.storage.k8s.io_volumesnapshots.yaml',
];

/**
 * The VolumeSnapshot CRDs, from where Kubernetes publishes them: `go mod download` of the snapshotter's client
 * module (checked against the Go checksum database, as the control plane's own modules are), copied once per
 * version into the cache. Resolves to the directory that holds them, for `kubectl apply -f`.
 */
export async function ensureSnapshotCrds(): Promise<string> {
  const dir = cacheDir('snapshot-crds', SNAPSHOTTER_VERSION);
  const complete = () => CRD_FILES.every((f) => fs.existsSync(path.join(dir, f)));
  if (complete()) return dir;
  return exclusive(`${dir}.lock`, async () => {
    if (complete()) return dir;
    await toolWork(`fetching the VolumeSnapshot CRDs (Go module ${SNAPSHOTTER_MODULE}@${SNAPSHOTTER_VERSION})`, async () => {
      let moduleDir: string;
      try {
        // Outside any go.mod, `go mod download` of a pinned version fetches just that module.
        const { stdout } = await run('go', ['mod', 'download', '-json', `${SNAPSHOTTER_MODULE}@${SNAPSHOTTER_VERSION}`],
          { cwd: path.dirname(dir), env: { ...process.env, GOFLAGS: '-mod=mod' }, maxBuffer: 1 << 20 });
        moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        throw new Error(`go mod download ${SNAPSHOTTER_MODULE}@${SNAPSHOTTER_VERSION} failed: ${(e.stdout || e.stderr || e.message).trim()}`);
      }
      fs.mkdirSync(dir, { recursive: true });
      for (const f of CRD_FILES) {
        const src = path.join(moduleDir, 'config', 'crd', f);
        if (!fs.existsSync(src)) throw new Error(`${SNAPSHOTTER_MODULE}@${SNAPSHOTTER_VERSION} has no config/crd/${f}`);
        // Copied, not linked: the module cache is read-only and `go clean -modcache` may empty it.
        fs.writeFileSync(path.join(dir, f), fs.readFileSync(src));
      }
    });
    return dir;
  });
}
