import type { KObject } from '../k8s/cluster.ts';
import { A, L } from '../manifests/snapshot.ts';
import { parseQuantity } from '../k8s/quantity.ts';

/** A VolumeSnapshot as `snapshot --list` and `-o json` show it. */
export interface SnapshotRecord {
  name: string;
  namespace: string;
  workload: string;
  pvc: string;
  pgVersion: string;
  takenAt: string;
  consistency: string;
  reason: string;
  /** When the storage cut it (status.creationTime): from then on the database may run again. */
  cutAt: string | null;
  readyToUse: boolean;
  restoreSizeBytes: number | null;
  error: string | null;
  className: string;
  /** The ConfigMap holding the fingerprint taken with it, if one was. */
  fingerprint: string | null;
}

/** status.restoreSize is a quantity ("10Gi"), not a number of bytes; null when absent or unreadable. */
function restoreBytes(q: string): number | null {
  try {
    return parseQuantity(q) || null;
  } catch {
    return null;
  }
}

/** Reads our annotations and the status of a VolumeSnapshot. */
export function snapshotRecord(o: KObject): SnapshotRecord {
  const a = o.metadata.annotations ?? {};
  const st = o.status ?? {};
  const size = st.restoreSize === undefined ? null : restoreBytes(String(st.restoreSize));
  return {
    name: o.metadata.name,
    namespace: o.metadata.namespace ?? '',
    workload: a[A.workload] ?? '',
    pvc: a[A.pvc] ?? String(o.spec?.source?.persistentVolumeClaimName ?? ''),
    pgVersion: a[A.pgVersion] ?? o.metadata.labels?.[L.major] ?? '',
    takenAt: a[A.takenAt] ?? String(o.metadata.creationTimestamp ?? ''),
    consistency: a[A.consistency] ?? '',
    reason: a[A.reason] ?? '',
    cutAt: st.creationTime
      ? String(st.creationTime instanceof Date ? st.creationTime.toISOString() : st.creationTime)
      : null,
    readyToUse: st.readyToUse === true,
    restoreSizeBytes: size,
    error: st.error?.message ? String(st.error.message) : null,
    className: String(o.spec?.volumeSnapshotClassName ?? ''),
    fingerprint: null,
  };
}

/** The snapshot's state in a word: failed, ready, cut or pending. */
export function snapshotState(r: SnapshotRecord): 'failed' | 'ready' | 'cut' | 'pending' {
  return r.error ? 'failed' : r.readyToUse ? 'ready' : r.cutAt ? 'cut' : 'pending';
}

/** `snapshot --list` as a table, newest first. */
export function snapshotTable(rs: SnapshotRecord[]): string {
  if (rs.length === 0) return 'no snapshots made by kubectl-pgupgrade in this namespace';
  const rows = [['NAME', 'WORKLOAD', 'PVC', 'POSTGRESQL', 'TAKEN', 'CONSISTENCY', 'STATE', 'FINGERPRINT']];
  for (const r of [...rs].sort((x, y) => y.takenAt.localeCompare(x.takenAt))) {
    rows.push([
      r.name,
      r.workload,
      r.pvc,
      r.pgVersion,
      r.takenAt,
      r.consistency,
      snapshotState(r) + (r.error ? `: ${r.error}` : ''),
      r.fingerprint ? 'yes' : 'no',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** The snapshot class for a CSI driver: the default one of that driver, else the only one. */
export function pickSnapshotClass(
  classes: Array<{ name: string; driver: string; isDefault: boolean }>,
  driver: string,
  wanted?: string,
): { name: string } | { problem: string } {
  if (wanted) {
    const c = classes.find((x) => x.name === wanted);
    if (!c)
      return {
        problem: `VolumeSnapshotClass ${wanted} does not exist (there are: ${classes.map((x) => x.name).join(', ') || 'none'})`,
      };
    if (c.driver !== driver)
      return { problem: `VolumeSnapshotClass ${wanted} is for driver ${c.driver}, but the PVC's driver is ${driver}` };
    return { name: c.name };
  }
  const mine = classes.filter((c) => c.driver === driver);
  const pick = mine.find((c) => c.isDefault) ?? (mine.length === 1 ? mine[0] : undefined);
  if (pick) return { name: pick.name };
  if (mine.length > 1)
    return {
      problem: `several VolumeSnapshotClasses for driver ${driver} and none is the default: ${mine.map((c) => c.name).join(', ')}; pass --snapshot-class`,
    };
  return { problem: `no VolumeSnapshotClass for the PVC's CSI driver ${driver}` };
}
