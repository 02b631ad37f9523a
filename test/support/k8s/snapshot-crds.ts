import { ensureModuleCrds } from './module-crds.ts';

/** The Go module that Kubernetes' CSI snapshotter publishes its CRDs in (config/crd/), pinned. */
export const SNAPSHOTTER_MODULE = 'github.com/kubernetes-csi/external-snapshotter/client/v8';
export const SNAPSHOTTER_VERSION = 'v8.7.0';

/** The CRDs the tests and the plugin use: VolumeSnapshot, VolumeSnapshotContent, VolumeSnapshotClass. */
const CRD_FILES = [
  'snapshot.storage.k8s.io_volumesnapshotclasses.yaml',
  'snapshot.storage.k8s.io_volumesnapshotcontents.yaml',
  'snapshot.storage.k8s.io_volumesnapshots.yaml',
].map((f) => `config/crd/${f}`);

/**
 * The VolumeSnapshot CRDs, from where Kubernetes publishes them: `go mod download` of the snapshotter's client
 * module (checked against the Go checksum database, as the control plane's own modules are), copied once per
 * version into the cache. Resolves to the directory that holds them, for `kubectl apply -f`.
 */
export function ensureSnapshotCrds(): Promise<string> {
  return ensureModuleCrds('the VolumeSnapshot CRDs', 'snapshot-crds', SNAPSHOTTER_VERSION, [
    { module: SNAPSHOTTER_MODULE, version: SNAPSHOTTER_VERSION, files: CRD_FILES },
  ]);
}
