import type { KObject } from '../k8s/cluster.ts';
import { OWNED_LABELS } from './probe-pod.ts';

const SNAP_API = 'snapshot.storage.k8s.io/v1';
export const A = {
  workload: 'pgupgrade.kubectl.io/workload',
  pvc: 'pgupgrade.kubectl.io/pvc',
  pgVersion: 'pgupgrade.kubectl.io/pg-version',
  takenAt: 'pgupgrade.kubectl.io/taken-at',
  consistency: 'pgupgrade.kubectl.io/consistency',
  reason: 'pgupgrade.kubectl.io/reason',
} as const;
export const L = {
  role: 'pgupgrade.kubectl.io/role',
  workload: 'pgupgrade.kubectl.io/workload',
  major: 'pgupgrade.kubectl.io/pg-major',
} as const;

/** How consistent a snapshot is: cut from a running server after a CHECKPOINT, or from a stopped one. */
export type Consistency = 'crash-consistent' | 'stopped';

/** What a snapshot records about itself. */
export interface SnapshotSpec {
  namespace: string;
  workloadKind: string;
  workloadName: string;
  pvc: string;
  className: string;
  pgVersion: string;
  pgMajor: number;
  takenAt: Date;
  consistency: Consistency;
  reason: string;
  /** The role label: `snapshot` (the default), or `rehearsal` for the clone of `upgrade --rehearse`. */
  role?: string;
}

/** A label value, or nothing when the name is longer than a label value may be (the annotation keeps it whole). */
function labelValue(v: string): string | undefined {
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(v) ? v : undefined;
}

/** `<pvc>-pgupgrade-<yyyymmdd-hhmmss>`, a valid DNS subdomain of at most 253 characters. */
export function snapshotName(pvc: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${pvc.slice(0, 253 - 26).replace(/[.-]+$/, '')}-pgupgrade-${stamp}`.toLowerCase();
}

/** The name of a temporary object derived from a snapshot's name (`-verify`, `-fingerprint`), within 253 characters. */
export function derivedName(snapshot: string, suffix: string, max = 253): string {
  return `${snapshot.slice(0, max - suffix.length - 1).replace(/[.-]+$/, '')}-${suffix}`;
}

/** The VolumeSnapshot of the data PVC, labelled as ours and annotated with what it holds. */
export function buildVolumeSnapshot(s: SnapshotSpec): KObject {
  const workloadLabel = labelValue(s.workloadName);
  return {
    apiVersion: SNAP_API,
    kind: 'VolumeSnapshot',
    metadata: {
      name:
        s.role && s.role !== 'snapshot'
          ? derivedName(snapshotName(s.pvc, s.takenAt), s.role)
          : snapshotName(s.pvc, s.takenAt),
      namespace: s.namespace,
      labels: {
        ...OWNED_LABELS,
        [L.role]: s.role ?? 'snapshot',
        [L.major]: String(s.pgMajor),
        ...(workloadLabel ? { [L.workload]: workloadLabel } : {}),
      },
      annotations: {
        [A.workload]: `${s.workloadKind}/${s.workloadName}`,
        [A.pvc]: s.pvc,
        [A.pgVersion]: s.pgVersion,
        [A.takenAt]: s.takenAt.toISOString(),
        [A.consistency]: s.consistency,
        [A.reason]: s.reason,
      },
    },
    spec: { volumeSnapshotClassName: s.className, source: { persistentVolumeClaimName: s.pvc } },
  };
}

/** A temporary PVC restored from the snapshot (to verify it, or to read the upgrade's reference); deleted after use. */
export function buildRestorePvc(o: {
  name: string;
  namespace: string;
  snapshot: string;
  storageClassName?: string;
  bytes: number;
  role?: string;
  why?: string;
}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { ...OWNED_LABELS, [L.role]: o.role ?? 'snapshot-verify' },
      annotations: {
        'pgupgrade.kubectl.io/purpose':
          o.why ?? `restored from VolumeSnapshot ${o.snapshot} to verify it; deleted when verify ends`,
      },
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(o.storageClassName ? { storageClassName: o.storageClassName } : {}),
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: o.snapshot },
      resources: { requests: { storage: String(o.bytes) } },
    },
  };
}

/** The fingerprint taken with a snapshot, kept beside it and garbage-collected with it (ownerReference). */
export function buildFingerprintConfigMap(o: { snapshot: string; snapshotUid: string; namespace: string }): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: derivedName(o.snapshot, 'fingerprint'),
      namespace: o.namespace,
      labels: { ...OWNED_LABELS, [L.role]: 'fingerprint' },
      annotations: { 'pgupgrade.kubectl.io/snapshot': o.snapshot },
      ownerReferences: [
        { apiVersion: SNAP_API, kind: 'VolumeSnapshot', name: o.snapshot, uid: o.snapshotUid },
      ] as never,
    },
  };
}
