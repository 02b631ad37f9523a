import type { SourceDiscovery } from '../../discovery/discover.ts';
import { usageError } from '../../exit-codes.ts';
import type { Cluster, Pod, Workload } from '../../k8s/cluster.ts';
import { NO_VOLUME } from '../../postgres/dump-source.ts';
import { workloadPods } from '../../k8s/selector.ts';
import { refOf } from '../../postgres/workload.ts';
import type { DumpState } from '../../state/dump-state.ts';
import type { DumpRecord } from '../../state/recorded.ts';
import { ageProblem, overrideOrRefuse, unfinishedProblem, unvalidatedProblem } from './guards.ts';
import { neverDeleted, oldInstanceProblem, planDumpCleanup, type DumpFound, type FoundInstance } from './dump-plan.ts';
import type { CleanupPlan } from './plan.ts';

/** What cleanup knows of an upgrade by dump: its record, and what was found of it. */
export interface DumpCleanup {
  state: DumpState;
  found?: DumpFound;
}

/** The guards of a record by dump, bound to the workload found (readRecorded): the ones --force overrode; else exit 2. */
export function dumpGuards(
  r: DumpRecord,
  ns: string,
  opts: { olderThanMs: number; olderThan: string; force: boolean },
): string[] {
  const unfinished = unfinishedProblem(r.state, ns);
  if (unfinished) throw usageError(unfinished);
  return overrideOrRefuse(
    [ageProblem(r.state, new Date(), opts.olderThanMs, opts.olderThan), unvalidatedProblem(r.cm, r.state, ns)],
    opts.force,
  );
}

const claims = (p: Pod) => (p.spec.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName);
const live = (p: Pod) => p.phase !== 'Succeeded' && p.phase !== 'Failed';

/** A workload's pods (by its selector) and every pod that mounts `pvc`. */
function instanceOf(w: Workload | undefined, pvc: string, pods: Pod[]): Pick<FoundInstance, 'pods' | 'pvcUsers'> {
  const mine = w ? workloadPods(w, pods) : [];
  return {
    pods: mine.map((p) => p.metadata.name),
    pvcUsers: pvc ? pods.filter((p) => live(p) && claims(p).includes(pvc)).map((p) => p.metadata.name) : [],
  };
}

/**
 * The record's objects as they are now: the plugin's ConfigMaps (by its label), the source workload and its pods,
 * every pod that mounts its PVC, and after a rollback the new instance's objects, each by the name the record gives.
 */
export async function findDump(cluster: Cluster, d: SourceDiscovery, s: DumpState): Promise<DumpFound> {
  const ns = d.namespace;
  const [configMaps, pods] = await Promise.all([
    cluster.listObjects('v1', 'ConfigMap', ns, 'app.kubernetes.io/managed-by=kubectl-pgupgrade'),
    cluster.listPods(ns),
  ]);
  const source: FoundInstance = {
    workload: d.workload,
    pvc: d.pvc?.metadata.name ?? NO_VOLUME,
    ...instanceOf(d.workload, s.pvc, pods),
  };
  if (s.phase !== 'rolled-back') return { configMaps, source };
  const t = s.target;
  const read = (apiVersion: string, kind: string, name: string) =>
    cluster.readObject({ apiVersion, kind, namespace: ns, name });
  const [workload, pvc, service, secret] = await Promise.all([
    cluster.getWorkload(ns, t.kind, t.name),
    read('v1', 'PersistentVolumeClaim', t.pvc),
    read('v1', 'Service', t.service),
    t.secret ? cluster.secretMetadata(ns, t.secret) : Promise.resolve(undefined),
  ]);
  return { configMaps, source, target: { workload, pods: instanceOf(workload, '', pods).pods, pvc, service, secret } };
}

/**
 * The plan; `--delete-old-instance` on an old instance that may not go refuses (exit 2, nothing changed). `offer`:
 * the old instance that could go but was not named, for the prompt.
 */
export function planDump(
  c: DumpCleanup & { found: DumpFound },
  stateName: string,
  ns: string,
  deleteOldInstance: boolean,
): { plan: CleanupPlan; offer?: string } {
  const s = c.state;
  if (deleteOldInstance && s.phase === 'done') {
    const problem =
      neverDeleted(s) ??
      oldInstanceProblem(s, c.found.source) ??
      (c.found.source.workload ? undefined : 'it is gone already');
    if (problem)
      throw usageError(
        `--delete-old-instance: ${s.workload.kind} ${ns}/${s.workload.name} is not deleted: ${problem}. Nothing was changed`,
      );
  }
  const plan = planDumpCleanup({ state: s, stateName }, c.found, { namespace: ns, deleteOldInstance });
  const offered =
    !deleteOldInstance &&
    s.phase === 'done' &&
    !neverDeleted(s) &&
    !oldInstanceProblem(s, c.found.source) &&
    c.found.source.workload;
  return { plan, offer: offered ? refOf(s.workload) : undefined };
}
