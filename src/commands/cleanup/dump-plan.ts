import type { KObject, Workload } from '../../k8s/cluster.ts';
import { keepsSourceRunning } from '../../postgres/dump-source.ts';
import { refOf } from '../../postgres/workload.ts';
import { dumpReferenceName, type DumpState } from '../../state/dump-state.ts';
import { fingerprintPartItems, isOurs } from './owned-objects.ts';
import type { CleanupItem, CleanupPlan } from './plan.ts';

/**
 * Cleanup after an upgrade by dump (`pgupgrade-dump-<workload>`). The plugin made the new instance, the source's
 * fingerprint and the record; the old instance (the source workload and its PVC) was made by the user, so it is
 * deleted only because the record names it (kind, name, UID, PVC), only once it is stopped, and only when asked by
 * name (`--delete-old-instance`, or its name typed at the prompt). Pure.
 */

/** A workload as cleanup finds it now: the object, the names of its pods, and of every pod that mounts `pvc`. */
export interface FoundInstance {
  workload?: Workload;
  /** The PVC at its PGDATA now (the template's claim; a StatefulSet's first replica's). */
  pvc?: string;
  pods: string[];
  pvcUsers: string[];
}

export interface DumpFound {
  configMaps: KObject[];
  source: FoundInstance;
  /** After a rollback: the new instance's objects, each as read by the name the record gives it. */
  target?: { workload?: Workload; pods: string[]; pvc?: KObject; service?: KObject; secret?: KObject };
}

const item = (kind: CleanupItem['kind'], name: string, why: string): CleanupItem => ({ kind, name, why });
const kindWord = (kind: string) => kind.toLowerCase();

/** The kubectl commands that delete the old instance by hand. */
export function deleteByHand(s: DumpState, ns: string): string {
  return `kubectl -n ${ns} delete ${kindWord(s.workload.kind)} ${s.workload.name}${s.pvc ? ` && kubectl -n ${ns} delete pvc ${s.pvc}` : ''}`;
}

/** Why the old instance must never be deleted by cleanup whatever is asked, or undefined. */
export function neverDeleted(s: DumpState): string | undefined {
  if (!s.cutover)
    return 'the upgrade ran with --no-cutover: the old instance still serves the applications; cleanup never deletes it';
  if (keepsSourceRunning(s)) {
    return 'it has no volume (its data lives only in its running container), so it was left running after the cutover by design; cleanup never deletes it';
  }
  return undefined;
}

/** Why the old instance cannot be deleted now (it is not stopped, or not the one recorded), or undefined. */
export function oldInstanceProblem(s: DumpState, f: FoundInstance): string | undefined {
  const w = f.workload;
  if (!w) return undefined;
  if (w.metadata.uid !== s.workloadUid)
    return `its UID ${w.metadata.uid ?? 'unknown'} is not the recorded ${s.workloadUid}: it is another ${s.workload.kind} of that name`;
  if (f.pvc !== s.pvc) return `its PVC is ${f.pvc ?? 'none'}, not the recorded ${s.pvc}`;
  if (w.replicas !== 0) return `it is scaled to ${w.replicas}, not 0 as the upgrade left it: somebody started it again`;
  if (f.pods.length) return `it has pods (${f.pods.join(', ')})`;
  const others = f.pvcUsers;
  if (others.length) return `its PVC ${s.pvc} is mounted by pods ${others.join(', ')}`;
  return undefined;
}

/** The old instance, removed when asked and allowed, else kept with why and how to remove it. */
function oldInstanceItems(s: DumpState, f: DumpFound, ns: string, deleteOld: boolean, plan: CleanupPlan): boolean {
  const w = f.source.workload;
  const what = `the old instance, PostgreSQL ${s.fromVersion}, made by you (not by kubectl pgupgrade): named by the record of the upgrade, UID ${s.workloadUid}`;
  const pvcWhat = `its data volume (PostgreSQL ${s.fromVersion}'s data, the way back with --rollback)`;
  const never = neverDeleted(s);
  if (never) {
    if (w)
      plan.keep.push(
        item(
          s.workload.kind,
          s.workload.name,
          `${what}; ${never}. Delete it yourself when you no longer need it: ${deleteByHand(s, ns)}`,
        ),
      );
    return false;
  }
  if (!w) return false;
  const problem = oldInstanceProblem(s, f.source);
  if (problem || !deleteOld) {
    const why = problem
      ? `kept: ${problem}`
      : `kept: it goes only when named: kubectl pgupgrade cleanup -n ${ns} ${refOf(s.workload)} --delete-old-instance ` +
        `(or type its name when cleanup asks); until then the record and the source's fingerprint stay too, for --rollback`;
    plan.keep.push(item(s.workload.kind, s.workload.name, `${what}; ${why}`));
    plan.keep.push(item('PersistentVolumeClaim', s.pvc, pvcWhat));
    return true;
  }
  plan.remove.push(item(s.workload.kind, s.workload.name, `${what}, scaled to 0 with no pods`));
  plan.remove.push(item('PersistentVolumeClaim', s.pvc, `${pvcWhat}; no pod mounts it`));
  return false;
}

/**
 * After a rollback the old instance serves again, and what remains is the new one, which the plugin made: it goes
 * (workload, its Service, the superuser Secret it made, its PVC with what the applications wrote between the
 * cutover and the rollback) when it carries the plugin's labels, points at the recorded source, and is stopped.
 */
function targetItems(s: DumpState, f: DumpFound, plan: CleanupPlan): boolean {
  const t = s.target;
  const source = `${s.workload.kind}/${s.workload.name}`;
  const ours = (o: { metadata: KObject['metadata'] } | undefined) =>
    o !== undefined && isOurs(o, 'dump-target') && o.metadata.annotations?.['pgupgrade.kubectl.io/source'] === source;
  if (t.existing) {
    plan.keep.push(
      item(
        t.kind,
        t.name,
        'the existing instance named by --target, which kubectl pgupgrade did not make: never removed by it',
      ),
    );
    return false;
  }
  const w = f.target?.workload;
  if (w && ours(w) && (w.replicas !== 0 || (f.target?.pods.length ?? 0) > 0)) {
    plan.keep.push(
      item(
        t.kind,
        t.name,
        `the new instance of the rolled-back upgrade, made by kubectl pgupgrade, kept: it runs (scaled to ${w.replicas}, ` +
          `pods ${f.target?.pods.join(', ') || 'none'}), not stopped as the rollback left it`,
      ),
    );
    return true;
  }
  const why = `of the new instance, PostgreSQL ${s.to}, that the rolled-back upgrade made`;
  if (w && ours(w)) plan.remove.push(item(t.kind, t.name, `the workload ${why}, scaled to 0`));
  if (ours(f.target?.service)) plan.remove.push(item('Service', t.service, `the Service ${why}`));
  if (t.secret && ours(f.target?.secret)) plan.remove.push(item('Secret', t.secret, `the superuser Secret ${why}`));
  if (ours(f.target?.pvc)) {
    plan.remove.push(
      item(
        'PersistentVolumeClaim',
        t.pvc,
        `the volume ${why}, with what the applications wrote between the cutover and the rollback`,
      ),
    );
  }
  return false;
}

/**
 * What cleanup removes after an upgrade by dump, in order: the instance that no longer serves (the old one once the
 * upgrade is done, when asked; the new one after a rollback), then the source's fingerprint and, last, the record.
 * While an instance that could still go is kept, the fingerprint and the record are kept with it.
 */
export function planDumpCleanup(
  r: { state: DumpState; stateName: string },
  f: DumpFound,
  opts: { namespace: string; deleteOldInstance: boolean },
): CleanupPlan {
  const s = r.state;
  const plan: CleanupPlan = { remove: [], keep: [] };
  const holds =
    s.phase === 'rolled-back'
      ? targetItems(s, f, plan)
      : oldInstanceItems(s, f, opts.namespace, opts.deleteOldInstance, plan);
  const fpName = dumpReferenceName(r.stateName);
  const fp = f.configMaps.find((c) => c.metadata.name === fpName && isOurs(c, 'dump-reference'));
  const st = f.configMaps.find(
    (c) =>
      c.metadata.name === r.stateName &&
      isOurs(c, 'upgrade-state') &&
      c.metadata.annotations?.['pgupgrade.kubectl.io/method'] === 'dump',
  );
  const to = holds ? plan.keep : plan.remove;
  const kept = holds ? ', kept while that instance is' : '';
  if (fp)
    to.push(
      item('ConfigMap', fpName, `the source's fingerprint, taken before the dump${kept}`),
      ...fingerprintPartItems(f.configMaps, fpName),
    );
  if (st) to.push(item('ConfigMap', r.stateName, `the record of the upgrade by dump${holds ? kept : ', last'}`));
  return plan;
}
