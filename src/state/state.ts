import { createHash } from 'node:crypto';
import type { DeploymentStrategy, KObject } from '../k8s/cluster.ts';
import { OWNED_LABELS } from '../manifests/probe-pod.ts';
import type { UpgradeJobSpec } from '../manifests/upgrade-job.ts';
import type { Relayout } from '../postgres/relayout.ts';
import { refOf } from '../postgres/workload.ts';
import type { PausedOwner } from '../postgres/gitops-pause.ts';

/**
 * The upgrade's record, kept in a ConfigMap beside the workload, so that a re-run after any interruption knows
 * where it stands. Phases are recorded when they are done, in this order; two are recorded BEFORE what they name
 * begins, because a rollback must know that it may have begun: `job-started` (from then on pg_upgrade may have
 * touched the old cluster; with --swap it moves its files) and `db-start` (from then on the new server may have
 * run, and in link mode the old cluster's files are no longer safe to start). `fingerprint` is recorded only with
 * --no-snapshot, where the reference is read from the running server once the applications are down.
 * `gitops-paused` (--pause-gitops) is recorded with `pausedOwners`, the exact values it changes, BEFORE the first
 * pause: whatever stops the run then (an error, Ctrl-C, a kill), the next run or the rollback knows what to resume.
 */
export const PHASES = [
  'preflight',
  'gitops-paused',
  'apps-down',
  'fingerprint',
  'db-down',
  'snapshot',
  'job-started',
  'job',
  'workload-patched',
  'db-start',
  'db-up',
  'verified',
  'apps-up',
  'done',
] as const;
export type Phase = (typeof PHASES)[number];

export type InPlaceMethod = 'link' | 'copy' | 'clone' | 'swap';

export interface ScaledWorkload {
  kind: 'StatefulSet' | 'Deployment';
  name: string;
  replicas: number;
}

/** What every record of an upgrade says of its source, in place or by dump. */
export interface RecordedSource {
  version: 1;
  workload: ScaledWorkload;
  /** The workload's UID and data PVC: a record is only ever used for the very workload and claim it was made for. */
  workloadUid: string;
  pvc: string;
  container: string;
  from: number;
  fromVersion: string;
  to: number;
}

export interface UpgradeState extends RecordedSource {
  method: InPlaceMethod;
  oldImage: string;
  targetImage: string;
  jobImage: string;
  apps: ScaledWorkload[];
  snapshot: string | null;
  fingerprintConfigMap: string;
  job: string;
  /** The Job exactly as made, so that a resumed run or a rollback uses the same identity, paths and options. */
  jobSpec: UpgradeJobSpec;
  /** PGDATA was the root of its volume: the Job moves the cluster into a directory and the workload's layout changes. */
  relayout?: Relayout;
  /**
   * A Deployment's own RollingUpdate strategy, set aside for Recreate while the database is stopped and put back
   * once a server is up again (src/steps/strategy.ts); absent when the workload needs no switch.
   */
  strategy?: DeploymentStrategy;
  /** When verify held its snapshot and let the applications start (--verify-while-apps-start). */
  verifyHeldAt?: string;
  /**
   * When the run stopped for the user to point the workload at the new major (--no-patch-workload): from then on
   * Helm or Git may start the new server at any moment, so a rollback must not take the directories way.
   */
  handedOverAt?: string;
  /** --pause-gitops: the Argo CD and Flux objects this upgrade pauses, each with the value to put back. */
  pausedOwners?: PausedOwner[];
  /** When they were put back (at the end of the upgrade); a rollback after that leaves them alone. */
  ownersResumedAt?: string;
  /** The last phase done. */
  phase: Phase;
  history: Array<{ phase: Phase; at: string }>;
}

export function phaseIndex(p: Phase): number {
  return PHASES.indexOf(p);
}

/** Has `p` been done in this state? */
export function isDone(s: UpgradeState | undefined, p: Phase): boolean {
  return s !== undefined && phaseIndex(s.phase) >= phaseIndex(p);
}

/** The state with one more phase done. */
export function advance(s: UpgradeState, p: Phase, at = new Date()): UpgradeState {
  return { ...s, phase: p, history: [...s.history, { phase: p, at: at.toISOString() }] };
}

/**
 * Names derived from the workload. A name of up to 40 characters is used as it is; a longer one is cut and gets a
 * hash of the whole name, so that two workloads never share a record. Every name stays within 63 characters (the Job
 * name is its pods' `job-name` label), and the rollback Job's first 52 characters still hold the whole hash.
 */
export function upgradeNames(
  workload: string,
  to: number,
): { state: string; fingerprint: string; job: string; rehearsal: string } {
  const hash = createHash('sha256').update(workload).digest('hex').slice(0, 8);
  const base = workload.length <= 40 ? workload : `${workload.slice(0, 32).replace(/[.-]+$/, '')}-${hash}`;
  return {
    state: `pgupgrade-state-${base}`,
    fingerprint: `pgupgrade-fingerprint-${base}`,
    job: `pgupgrade-${base}-to-${to}`,
    rehearsal: `pgupgrade-rehearsal-${base}`,
  };
}

/** The ConfigMap that holds the state. */
export function stateConfigMap(name: string, namespace: string, s: UpgradeState): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace,
      labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'upgrade-state' },
      annotations: { 'pgupgrade.kubectl.io/workload': `${s.workload.kind}/${s.workload.name}` },
    },
    data: { 'state.json': JSON.stringify(s, null, 1) },
  };
}

/**
 * Whether a new run may go on with a recorded upgrade: the same target and method resume it; anything else is
 * refused with the exact next command.
 */
export function resumeProblem(s: UpgradeState, to: number, method: string, ns: string): string | undefined {
  if (s.phase === 'done') return undefined;
  if (s.to === to && s.method === method) return undefined;
  const ref = refOf(s.workload);
  return (
    `an upgrade of ${s.workload.kind} ${ns}/${s.workload.name} from ${s.from} to ${s.to} (--method ${s.method}) stopped after its ` +
    `"${s.phase}" phase. Resume it: kubectl pgupgrade upgrade -n ${ns} ${ref} --to ${s.to} --method ${s.method}; ` +
    `or undo it: kubectl pgupgrade upgrade -n ${ns} ${ref} --rollback`
  );
}
