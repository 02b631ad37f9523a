import type { Cluster, KObject } from '../k8s/cluster.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { isInterrupted } from '../interrupt.ts';
import { buildVolumeSnapshot, type SnapshotSpec } from '../manifests/snapshot.ts';
import { snapshotRecord, type SnapshotRecord } from './record.ts';

const SNAP_API = 'snapshot.storage.k8s.io/v1';
const POLL_MS = 250;

/**
 * The VolumeSnapshotClass the upgrade (and its rehearsal) snapshots a PVC of `driver` with: the driver's default,
 * else its first; undefined when the driver has none.
 */
export async function upgradeSnapshotClass(cluster: Cluster, driver: string | undefined): Promise<string | undefined> {
  const classes = (await cluster.snapshotClasses()) ?? [];
  return (classes.find((c) => c.driver === driver && c.isDefault) ?? classes.find((c) => c.driver === driver))?.name;
}

/** Creates the VolumeSnapshot; a 403 or a missing CRD becomes a message that says what to do. */
export async function createSnapshot(cluster: Cluster, spec: SnapshotSpec): Promise<KObject> {
  const manifest = buildVolumeSnapshot(spec);
  if (isInterrupted()) throw new Error('interrupted');
  try {
    return await cluster.createObject(manifest);
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 403)
      throw new CliError(
        `not allowed to create VolumeSnapshots in namespace ${spec.namespace}: grant create on snapshot.storage.k8s.io/volumesnapshots`,
        ExitCode.failed,
      );
    if (code === 409)
      throw new CliError(
        `VolumeSnapshot ${spec.namespace}/${manifest.metadata.name} already exists; wait a second and run again`,
        ExitCode.failed,
      );
    throw err;
  }
}

/**
 * Waits until the snapshot is cut (status.creationTime: the CSI spec lets the application resume from then on)
 * or ready to use. A snapshot that reports an error fails at once, with the storage's message.
 */
export async function waitSnapshot(
  cluster: Cluster,
  ns: string,
  name: string,
  until: 'cut' | 'ready',
  timeoutMs: number,
  onChange?: (r: SnapshotRecord) => void,
): Promise<SnapshotRecord> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const o = await cluster.readObject({ apiVersion: SNAP_API, kind: 'VolumeSnapshot', namespace: ns, name });
    if (!o) throw new CliError(`VolumeSnapshot ${ns}/${name} disappeared while waiting for it`, ExitCode.failed);
    const r = snapshotRecord(o);
    if (r.error) throw new CliError(`VolumeSnapshot ${ns}/${name} failed: ${r.error}`, ExitCode.failed);
    const state = `${r.cutAt}/${r.readyToUse}`;
    if (state !== last) onChange?.(r);
    last = state;
    if (until === 'cut' ? r.cutAt !== null : r.readyToUse) return r;
    if (Date.now() > deadline) {
      throw new CliError(
        `VolumeSnapshot ${ns}/${name} was not ${until === 'cut' ? 'cut' : 'ready to use'} after ${Math.round(timeoutMs / 1000)} s ` +
          `(${r.cutAt ? 'cut, not ready yet' : 'not cut yet'}); it is still there: kubectl -n ${ns} describe volumesnapshot ${name}`,
        ExitCode.failed,
      );
    }
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

/** The snapshots that the plugin made in a namespace, optionally of one workload. */
export async function listSnapshots(cluster: Cluster, ns: string, workload?: string): Promise<SnapshotRecord[]> {
  let items: KObject[];
  try {
    items = await cluster.listObjects(
      SNAP_API,
      'VolumeSnapshot',
      ns,
      'app.kubernetes.io/managed-by=kubectl-pgupgrade,pgupgrade.kubectl.io/role=snapshot',
    );
  } catch (err) {
    if ((err as { code?: number }).code === 404)
      throw new CliError(
        `the VolumeSnapshot API (snapshot.storage.k8s.io/v1) is not installed in context ${cluster.contextName}`,
        ExitCode.failed,
      );
    throw err;
  }
  const fps = await cluster.listObjects(
    'v1',
    'ConfigMap',
    ns,
    'app.kubernetes.io/managed-by=kubectl-pgupgrade,pgupgrade.kubectl.io/role=fingerprint',
  );
  const bySnapshot = new Map(
    fps.map((c) => [c.metadata.annotations?.['pgupgrade.kubectl.io/snapshot'] ?? '', c.metadata.name]),
  );
  return items
    .map(snapshotRecord)
    .filter((r) => !workload || r.workload === workload)
    .map((r) => ({ ...r, fingerprint: bySnapshot.get(r.name) ?? null }));
}
