import { NO_VOLUME } from '../postgres/dump-source.ts';
import type { RecordedSource } from './state.ts';

/** Refusal of a record that cannot be used: which ConfigMap, what is wrong, how to look and how to go on. */
export function recordUnusable(ns: string, name: string, problem: string): string {
  return (
    `ConfigMap ${ns}/${name}, the record of an upgrade, cannot be used: ${problem}. Nothing was changed.\n` +
    `Look at it: kubectl -n ${ns} get configmap ${name} -o yaml\n` +
    `If no upgrade is under way (the database runs its usual image and replicas), delete it and run the command again: kubectl -n ${ns} delete configmap ${name}\n` +
    `If an upgrade was interrupted, repair state.json by hand, or restore the data PVC from the snapshot taken before it ` +
    `(kubectl -n ${ns} get volumesnapshots -l app.kubernetes.io/managed-by=kubectl-pgupgrade)`
  );
}

/** The workload and data PVC as discovery found them (no PVC: a source without a volume, recorded as ""). */
export interface FoundWorkload {
  workload: { kind: string; metadata: { name: string; uid?: string } };
  pvc?: { metadata: { name: string } };
}

/** bindingProblem for what discovery found. Pure. */
export function bindingProblemOf(s: RecordedSource, d: FoundWorkload, ns: string, cmName: string): string | undefined {
  return bindingProblem(
    s,
    {
      kind: d.workload.kind,
      name: d.workload.metadata.name,
      uid: d.workload.metadata.uid,
      pvc: d.pvc?.metadata.name ?? NO_VOLUME,
    },
    ns,
    cmName,
  );
}

/** Why a record may not be used for the workload found now (another UID or data PVC), or undefined. Pure. */
export function bindingProblem(
  s: RecordedSource,
  found: { kind: string; name: string; uid?: string; pvc: string },
  ns: string,
  cmName: string,
): string | undefined {
  if (
    s.workload.kind === found.kind &&
    s.workload.name === found.name &&
    s.workloadUid === found.uid &&
    s.pvc === found.pvc
  )
    return undefined;
  return recordUnusable(
    ns,
    cmName,
    `it records an upgrade of ${s.workload.kind} ${s.workload.name} (UID ${s.workloadUid}, PVC ${s.pvc || 'none'}), not of the ` +
      `${found.kind} ${found.name} found now (UID ${found.uid ?? 'unknown'}, PVC ${found.pvc || 'none'}): that workload was deleted and created again, ` +
      `or the record belongs to another one`,
  );
}
