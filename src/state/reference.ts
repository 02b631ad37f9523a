import type { Cluster, KObject } from '../k8s/cluster.ts';
import type { Discovery } from '../discovery/discover.ts';
import type { Fingerprint } from '../postgres/fingerprint.ts';
import { readRestoredCopy } from '../volume-snapshots/copy.ts';
import { createFingerprintObjects, deleteFingerprintObjects } from '../fingerprint/objects.ts';
import { readKeyedFingerprint } from '../fingerprint/store.ts';
import { waitSnapshot } from '../volume-snapshots/take.ts';
import { OWNED_LABELS } from '../manifests/probe-pod.ts';
import type { UpgradeState } from './state.ts';

/**
 * The upgrade's reference: the data exactly as it was when writes stopped. The snapshot that the upgrade cuts
 * after the database has stopped is that moment, whatever still wrote until then (applications outside the
 * selector included); the reference is read from a copy of it, started on the old major, while the upgrade Job
 * runs. Without a snapshot (--no-snapshot) it is read from the running server once the applications are down.
 * The verify step, the rollback and `validate` compare with it.
 */
export interface Reference {
  fingerprint: Fingerprint;
  /** Where it was read: `snapshot <name>` or `running server`. */
  source: string;
}

/** The reference's ConfigMap, without the fingerprint (src/fingerprint/store.ts keeps that in it). */
export function referenceConfigMap(ns: string, name: string, s: UpgradeState, ref: Reference): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: ns,
      labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'fingerprint' },
      annotations: {
        'pgupgrade.kubectl.io/workload': `${s.workload.kind}/${s.workload.name}`,
        'pgupgrade.kubectl.io/taken-at': new Date().toISOString(),
        'pgupgrade.kubectl.io/pg-version': s.fromVersion,
        'pgupgrade.kubectl.io/source': ref.source,
      },
    },
  };
}

/** Where this upgrade's reference comes from: its snapshot, or the running server with --no-snapshot. */
export function referenceSource(s: Pick<UpgradeState, 'snapshot'>): string {
  return s.snapshot ? `snapshot ${s.snapshot}` : 'running server, applications down';
}

/**
 * Reads this upgrade's stored reference, or undefined when there is none yet. One read from another snapshot is
 * an earlier upgrade's (rolled back, then started again): the data has moved on since, so it is not this one's.
 */
export async function loadReference(
  cluster: Cluster,
  ns: string,
  name: string,
  s: Pick<UpgradeState, 'snapshot'>,
): Promise<Reference | undefined> {
  const cm = await cluster.readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
  const fingerprint = await readKeyedFingerprint(cluster, ns, cm);
  const source = cm?.metadata.annotations?.['pgupgrade.kubectl.io/source'];
  if (!fingerprint || source !== referenceSource(s)) return undefined;
  return { fingerprint, source };
}

/** Stores the reference, replacing any earlier one of the same upgrade. */
export async function storeReference(
  cluster: Cluster,
  ns: string,
  name: string,
  s: UpgradeState,
  ref: Reference,
): Promise<void> {
  await deleteFingerprintObjects(cluster, ns, name);
  await createFingerprintObjects(cluster, referenceConfigMap(ns, name, s, ref), ref.fingerprint);
}

/**
 * The reference from the snapshot: waits until it is ready to use, restores it to a temporary PVC, starts the old
 * image's PostgreSQL on it, fingerprints it, stores it, and deletes the copy. A stored one is used as it is.
 */
export async function referenceFromSnapshot(
  cluster: Cluster,
  d: Discovery,
  s: UpgradeState,
  configMap: string,
  timeoutMs: number,
  onStep?: (text: string) => void,
): Promise<Reference> {
  const stored = await loadReference(cluster, d.namespace, configMap, s);
  if (stored) return stored;
  const snapshot = s.snapshot as string;
  onStep?.(`waiting for snapshot ${snapshot} to be ready to use`);
  const rec = await waitSnapshot(cluster, d.namespace, snapshot, 'ready', timeoutMs);
  // The snapshot holds the volume as the upgrade found it: with the data at its root when the upgrade moved it.
  const asFound = s.relayout ? { ...d, pgdata: s.relayout.fromMount, mountPath: s.relayout.fromMount } : d;
  const copy = await readRestoredCopy(cluster, asFound, {
    snapshot,
    image: s.oldImage,
    restoreSizeBytes: rec.restoreSizeBytes,
    purpose: 'reference',
    why: `reads the data as the upgrade found it, from VolumeSnapshot ${snapshot}, on PostgreSQL ${s.from}; deleted when read`,
    onStep,
  });
  const ref = { fingerprint: copy.fingerprint, source: referenceSource(s) };
  await storeReference(cluster, d.namespace, configMap, s, ref);
  return ref;
}
