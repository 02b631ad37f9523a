import { randomBytes } from 'node:crypto';
import type { Cluster } from '../k8s/cluster.ts';
import type { Discovery } from '../discovery/discover.ts';
import { readControlData, startProbe, startServer, stopServer, type Probe } from '../probe/probe.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { isInterrupted, onInterrupt } from '../interrupt.ts';
import { formatBytes } from '../k8s/quantity.ts';
import { buildRestorePvc, derivedName } from '../manifests/snapshot.ts';
import type { ControlData } from '../postgres/volume-facts.ts';
import type { Fingerprint } from '../postgres/fingerprint.ts';
import { fingerprintVia } from '../fingerprint/read.ts';

/** What a restored copy of a snapshot showed. */
export interface CopyReading {
  fingerprint: Fingerprint;
  /** pg_controldata of the copy, read before its server started. */
  controlData: ControlData;
  restoredPvc: string;
  pod: string;
}

/** Where the copy comes from and what runs it. */
export interface CopyOptions {
  snapshot: string;
  /** The image whose PostgreSQL starts on the copy: the major the snapshot holds. */
  image: string;
  /** The snapshot's restore size; the copy is at least as large as the source PVC. */
  restoreSizeBytes?: number | null;
  /** A short word for the temporary objects' names and role label, e.g. `verify` or `reference`. */
  purpose: string;
  why: string;
  onStep?: (s: string) => void;
}

/**
 * Restores a VolumeSnapshot to a temporary PVC, starts its PostgreSQL in a throwaway pod (no TCP listener,
 * `restricted`, the data owner's UID; crash recovery when the snapshot was of a running server), reads
 * pg_controldata and the fingerprint, stops the server cleanly, and deletes the pod and the PVC, also on Ctrl-C.
 * `snapshot --verify` proves a snapshot with it; `upgrade` takes its reference fingerprint from the snapshot cut
 * after the database stopped, which is the data exactly as the applications left it.
 */
export async function readRestoredCopy(cluster: Cluster, d: Discovery, o: CopyOptions): Promise<CopyReading> {
  const ns = d.namespace;
  const step = o.onStep ?? (() => undefined);
  // A name of its own per attempt: a copy left by a killed run (still mounted by its probe) never blocks the next.
  const pvcName = derivedName(o.snapshot, `${o.purpose}-${randomBytes(3).toString('hex')}`);
  const bytes = Math.max(o.restoreSizeBytes ?? 0, d.pvc.capacityBytes ?? 0, 1 << 20);
  let creating: Promise<unknown> = Promise.resolve();
  // On Ctrl-C the create may still be in flight: wait for it, so that the delete cannot come first.
  const removePvc = async () => {
    await creating.catch(() => undefined);
    await cluster.deleteObject({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: pvcName });
  };
  const unregister = onInterrupt(removePvc);
  let probe: Probe | undefined;
  try {
    if (isInterrupted()) throw new Error('interrupted');
    step(`restoring to PVC ${pvcName} (${formatBytes(bytes)})`);
    creating = cluster.createObject(
      buildRestorePvc({
        name: pvcName,
        namespace: ns,
        snapshot: o.snapshot,
        storageClassName: d.pvc.storageClassName,
        bytes,
        role: `snapshot-${o.purpose}`,
        why: o.why,
      }),
    );
    await creating;
    probe = await startProbe(cluster, d, o.image, { claim: pvcName, role: `snapshot-${o.purpose}`, purpose: o.why });
    step(`pod ${probe.pod} runs on the copy`);
    const controlData = await readControlData(cluster, d, probe);
    step('starting PostgreSQL on the copy');
    const err = await startServer(cluster, d, probe, true);
    if (err)
      throw new CliError(`PostgreSQL did not start on the copy restored from ${o.snapshot}: ${err}`, ExitCode.failed);
    step('fingerprinting the copy');
    const fingerprint = await fingerprintVia(cluster, d, { ...probe, socketDir: '/tmp' }, '');
    await stopServer(cluster, d, probe);
    return { fingerprint, controlData, restoredPvc: pvcName, pod: probe.pod };
  } finally {
    await probe?.dispose();
    unregister();
    await removePvc();
  }
}
