import type { Cluster, KObject, Pod } from '../k8s/cluster.ts';
import { labelSelectorString, workloadPods, type LabelRequirement } from '../k8s/selector.ts';
import { OWNED_LABELS } from '../manifests/probe-pod.ts';
import { replicaOrImageManagers } from '../postgres/gitops.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { poll } from './poll.ts';

/** What the plugin stopped: the database and its applications, and the database's claim. */
export interface Stopped {
  namespace: string;
  workload: { kind: string; name: string; selector: Record<string, string>; matchExpressions?: LabelRequirement[] };
  apps: Array<{ kind: string; name: string }>;
  claim: string;
}

const live = (p: Pod) => p.phase !== 'Succeeded' && p.phase !== 'Failed';
const ours = (p: Pod) => Object.entries(OWNED_LABELS).every(([k, v]) => p.metadata.labels?.[k] === v);

/** The command that undoes an in-place upgrade of the stopped workload. */
export const rollbackOf = (s: { namespace: string; workload: { kind: string; name: string } }): string =>
  `kubectl pgupgrade upgrade -n ${s.namespace} ${s.workload.kind === 'StatefulSet' ? 'sts' : 'deploy'}/${s.workload.name} --rollback`;

/** Who set spec.replicas, from the object's managedFields: the manager that scaled it back up owns the field now. */
export function replicasOwnersOf(o: KObject): string[] {
  return replicaOrImageManagers({
    name: o.metadata.name,
    managedFields: (o.metadata.managedFields ?? []).filter((m) =>
      JSON.stringify((m.fieldsV1 as Record<string, any> | undefined)?.['f:spec'] ?? {}).includes('"f:replicas"'),
    ),
  });
}

/** One line for a workload that has replicas again though the plugin scaled it to 0, naming who set them. */
function scaledUp(ns: string, w: { kind: string; name: string }, o: KObject | undefined): string | undefined {
  const replicas = Number(o?.spec?.replicas ?? 0);
  if (!o || replicas === 0) return undefined;
  const by = replicasOwnersOf(o);
  return `${w.kind} ${ns}/${w.name} has ${replicas} replicas again${by.length ? ` (spec.replicas set by field manager ${by.join(', ')})` : ''}`;
}

/** The workloads among `stopped` that have replicas again, each with who set them. */
export async function scaledBack(
  cluster: Cluster,
  ns: string,
  stopped: Array<{ kind: string; name: string }>,
): Promise<string[]> {
  const read = (w: { kind: string; name: string }) =>
    cluster.readObject({ apiVersion: 'apps/v1', kind: w.kind, namespace: ns, name: w.name });
  const found = await Promise.all(stopped.map(async (w) => scaledUp(ns, w, await read(w))));
  return found.filter((x): x is string => !!x);
}

/** Why the load of an upgrade by dump must not start: an application was scaled back up meanwhile, and would write to the source. */
export async function appsBackProblem(
  cluster: Cluster,
  ns: string,
  apps: Array<{ kind: string; name: string }>,
  rollback: string,
): Promise<string | undefined> {
  const back = await scaledBack(cluster, ns, apps);
  return back.length
    ? `something else started what the upgrade stopped: ${back.join('; ')}; its writes would miss the new instance. A controller ` +
        `(Argo CD, Flux, an operator) heals the scale-down; the load did not start. Pause that controller, then undo (${rollback}) or scale them to 0 ` +
        'and run the same command again to resume'
    : undefined;
}

/**
 * Why the upgrade must not go on to pg_upgrade: the database or an application was scaled back up by someone else
 * while it was down, a pod of the database runs, or a pod other than the plugin's mounts the claim. Read just before
 * the Job is created; the Job's script checks postmaster.pid again right before pg_upgrade.
 */
export async function stillDownProblem(cluster: Cluster, s: Stopped): Promise<string | undefined> {
  const found = await stillDownFindings(cluster, s);
  if (!found.length) return undefined;
  return (
    `something else started what the upgrade stopped: ${found.join('; ')}. A controller (Argo CD, Flux, an operator) heals the scale-down; ` +
    `pg_upgrade did not start and the data is as it was. Pause that controller, then undo (${rollbackOf(s)}) or scale them to 0 and run the same command again to resume`
  );
}

/** What runs again of what the upgrade stopped, one line each, naming who set the replicas. */
export async function stillDownFindings(cluster: Cluster, s: Stopped): Promise<string[]> {
  const ns = s.namespace;
  const found = await scaledBack(cluster, ns, [s.workload, ...s.apps]);
  const pods = (await cluster.listPods(ns)).filter(live);
  // The workload's whole selector, its matchExpressions too: with those alone, its matchLabels ({}) would match every pod.
  const db = workloadPods(s.workload, pods).filter((p) => !ours(p));
  const mounting = pods.filter(
    (p) =>
      !ours(p) && !db.includes(p) && (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === s.claim),
  );
  if (db.length)
    found.push(`pod ${db.map((p) => p.metadata.name).join(', ')} of ${s.workload.kind} ${s.workload.name} runs again`);
  if (mounting.length) found.push(`pod ${mounting.map((p) => p.metadata.name).join(', ')} mounts PVC ${s.claim}`);
  return found;
}

/**
 * Keeps looking, every `everyMs` while the upgrade Job runs, for what stillDownFindings finds; `stop` gives the
 * first findings seen (empty when nothing came back). The Job holds the data directory, so such a pod cannot run
 * the old server beside it: this is what lets the plugin say who started it.
 */
export function watchStillDown(cluster: Cluster, s: Stopped, everyMs = 2000): { stop: () => Promise<string[]> } {
  let seen: string[] = [];
  let running = true;
  let wake = () => undefined as void;
  const loop = (async () => {
    while (running && !seen.length) {
      seen = await stillDownFindings(cluster, s).catch(() => []);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, everyMs);
      });
    }
  })();
  return {
    stop: async () => {
      running = false;
      wake();
      await loop;
      return seen;
    },
  };
}

/** Why the run stops after its Job: something started what the upgrade stopped while the Job held the data directory. */
export function cameBackDuringJob(found: string[], s: Stopped, jobOk: boolean): string {
  return (
    `something else started what the upgrade stopped while the upgrade Job ran: ${found.join('; ')}. ${
      jobOk
        ? 'The Job held the data directory ' +
          '(a file at PGDATA), so that pod could not start the old server there and crash-loops instead; the Job finished: the new cluster is in place, the ' +
          'old one kept, and nothing else was started'
        : 'The Job failed (its log is above): if that pod started before the Job held the data directory, ' +
          'the old server may have run there; the Job then stopped before pg_upgrade and put the directory back'
    }. A controller (Argo CD, Flux, an operator) heals the scale-down: ` +
    `pause it, scale the workload to 0, then run the same command again to resume, or undo (${rollbackOf(s)})`
  );
}

/**
 * Waits until a workload the upgrade scaled to 0 has no pod, failing at once when someone else scales it back up
 * meanwhile (a controller that heals the scale-down would otherwise keep the wait going until its timeout).
 * `rollback` is the command that undoes the run.
 */
export async function waitScaledDown(
  cluster: Cluster,
  ns: string,
  w: { kind: string; name: string; selector: Record<string, string>; matchExpressions?: LabelRequirement[] },
  what: string,
  rollback: string,
  timeoutMs: number,
): Promise<void> {
  await poll(
    `${what} to be deleted`,
    timeoutMs,
    async () => {
      const back = await scaledBack(cluster, ns, [w]);
      if (back.length) {
        throw new CliError(
          `something else started what the upgrade stopped: ${back.join('; ')}. A controller (Argo CD, Flux, an operator) heals the ` +
            `scale-down; the upgrade went no further (no pg_upgrade, no load) and the data is as it was. Pause that controller, then undo (${rollback}) or run the same command again to resume`,
          ExitCode.failed,
        );
      }
      return (await cluster.listPods(ns, w.selector, w.matchExpressions)).length === 0 ? true : undefined;
    },
    `look at them: kubectl -n ${ns} get pods -l '${labelSelectorString(w.selector, w.matchExpressions)}'`,
  );
}
