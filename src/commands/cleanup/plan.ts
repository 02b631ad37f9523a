import type { KObject, Pod } from '../../k8s/cluster.ts';
import type { UpgradeState } from '../../state/state.ts';
import { item, jobItems, podItems, pvcItems, recordItems, snapshotItems } from './owned-objects.ts';

/** One thing that cleanup removes (or keeps), as the listing and `-o json|yaml` show it. */
export interface CleanupItem {
  kind:
    | 'Directory'
    | 'Job'
    | 'Pod'
    | 'PersistentVolumeClaim'
    | 'VolumeSnapshot'
    | 'ConfigMap'
    | 'StatefulSet'
    | 'Deployment'
    | 'Service'
    | 'Secret';
  name: string;
  why: string;
}

/** What cleanup found, read by the plugin's own label, in the upgrade's namespace. */
export interface Found {
  jobs: KObject[];
  pods: Pod[];
  pvcs: KObject[];
  snapshots: KObject[];
  configMaps: KObject[];
  /** Which of the old cluster's paths on the volume exist; undefined when they could not be looked at. */
  paths?: string[];
}

/** What the record names, with where the old cluster is kept. */
export interface Recorded {
  state: UpgradeState;
  stateName: string;
  /** `data-<old>.preupgrade` and the work directory, beside PGDATA. */
  kept: string;
  work: string;
}

export interface CleanupPlan {
  remove: CleanupItem[];
  keep: CleanupItem[];
}

/**
 * What cleanup removes, in the order it removes it: the old cluster's directories, the finished Jobs and their pods,
 * ended probe pods, left-behind restored PVCs, the snapshot and its fingerprint (unless kept), then the reference
 * fingerprint and the record itself, last. Pure: from the objects found and the record.
 */
export function planCleanup(
  r: Recorded,
  f: Found,
  opts: { keepSnapshots: boolean; jobName: string; uid: number; image: string },
): CleanupPlan {
  const plan: CleanupPlan = { remove: [], keep: [] };
  const dirs: Array<[string, string]> = [
    [r.kept, `the old cluster, PostgreSQL ${r.state.from}`],
    [r.work, "pg_upgrade's work directory (its logs and scripts)"],
  ];
  for (const [path, what] of dirs) {
    if (f.paths && !f.paths.includes(path)) continue;
    plan.remove.push(
      item(
        'Directory',
        path,
        `${what} on PVC ${r.state.pvc}${f.paths ? '' : ', if it is there'}; by Job ${opts.jobName} (image ${opts.image}) as UID ${opts.uid}`,
      ),
    );
  }
  const jobs = jobItems(r, f, plan);
  const pvcs = pvcItems(r, f, { remove: [], keep: [] });
  podItems(r, f, jobs, pvcs, plan);
  pvcItems(r, f, plan);
  snapshotItems(r, f, opts.keepSnapshots, plan);
  recordItems(r, f, plan);
  return plan;
}

/** The listing, one line per object. */
export function planText(p: CleanupPlan, verb: string): string {
  const w = Math.max(0, ...[...p.remove, ...p.keep].map((i) => `${i.kind} ${i.name}`.length));
  const line = (i: CleanupItem) => `  ${`${i.kind} ${i.name}`.padEnd(w)}  ${i.why}`;
  return [
    p.remove.length ? `${verb}:` : 'Nothing to remove.',
    ...p.remove.map(line),
    ...(p.keep.length ? ['Kept:', ...p.keep.map(line)] : []),
  ].join('\n');
}
