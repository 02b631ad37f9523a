import type { KObject } from '../k8s/cluster.ts';
import { OWNED_LABELS } from '../manifests/probe-pod.ts';
import type { UpgradeJobSpec } from '../manifests/upgrade-job.ts';

/**
 * The upgrade's record, kept in a ConfigMap beside the workload, so that a re-run after any interruption knows
 * where it stands. Phases are recorded when they are done, in this order; two are recorded BEFORE what they name
 * begins, because a rollback must know that it may have begun: `job-started` (from then on pg_upgrade may have
 * touched the old cluster; with --swap it moves its files) and `db-start` (from then on the new server may have
 * run, and in link mode the old cluster's files are no longer safe to start). `fingerprint` is recorded only with
 * --no-snapshot, where the reference is read from the running server once the applications are down.
 */
export const PHASES = ['preflight', 'apps-down', 'fingerprint', 'db-down', 'snapshot', 'job-started', 'job', 'workload-patched', 'db-start', 'db-up',
  'verified', 'apps-up', 'done'] as const;
export type Phase = (typeof PHASES)[number];

export type InPlaceMethod = 'link' | 'copy' | 'clone' | 'swap';

export interface ScaledWorkload {
  kind: 'StatefulSet' | 'Deployment';
  name: string;
  replicas: number;
}

export interface UpgradeState {
  version: 1;
  workload: ScaledWorkload;
  container: string;
  from: number;
  fromVersion: string;
  to: number;
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
  /** When verify held its snapshot and let the applications start (--verify-while-apps-start). */
  verifyHeldAt?: string;
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

/** Names derived from the workload, within the 63 characters a Job's pod label allows. */
export function upgradeNames(workload: string, to: number): { state: string; fingerprint: string; job: string } {
  const base = workload.slice(0, 40).replace(/[.-]+$/, '');
  return { state: `pgupgrade-state-${base}`, fingerprint: `pgupgrade-fingerprint-${base}`, job: `pgupgrade-${base}-to-${to}` };
}

/** The ConfigMap that holds the state. */
export function stateConfigMap(name: string, namespace: string, s: UpgradeState): KObject {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, namespace, labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'upgrade-state' },
      annotations: { 'pgupgrade.kubectl.io/workload': `${s.workload.kind}/${s.workload.name}` } },
    data: { 'state.json': JSON.stringify(s, null, 1) },
  };
}

export function parseState(cm: KObject | undefined): UpgradeState | undefined {
  const j = cm?.data?.['state.json'];
  return j ? (JSON.parse(j) as UpgradeState) : undefined;
}

/**
 * Whether a new run may go on with a recorded upgrade: the same target and method resume it; anything else is
 * refused with the exact next command.
 */
export function resumeProblem(s: UpgradeState, to: number, method: string, ns: string): string | undefined {
  if (s.phase === 'done') return undefined;
  if (s.to === to && s.method === method) return undefined;
  const ref = `${s.workload.kind === 'StatefulSet' ? 'sts' : 'deploy'}/${s.workload.name}`;
  return `an upgrade of ${s.workload.kind} ${ns}/${s.workload.name} from ${s.from} to ${s.to} (--method ${s.method}) stopped after its ` +
    `"${s.phase}" phase. Resume it: kubectl pgupgrade upgrade -n ${ns} ${ref} --to ${s.to} --method ${s.method}; ` +
    `or undo it: kubectl pgupgrade upgrade -n ${ns} ${ref} --rollback`;
}
