import { createHash } from 'node:crypto';
import { usageError } from '../exit-codes.ts';
import type { DeploymentStrategy, KObject } from '../k8s/cluster.ts';
import { isRecordedStrategy } from '../postgres/strategy.ts';
import { OWNED_LABELS } from '../manifests/probe-pod.ts';
import type { UpgradeJobSpec } from '../manifests/upgrade-job.ts';
import type { Relayout } from '../postgres/relayout.ts';
import { NO_VOLUME } from '../postgres/dump-source.ts';
import { refOf } from '../postgres/workload.ts';
import { isPausedOwner, type PausedOwner } from '../postgres/gitops-pause.ts';

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
 * The record in a state ConfigMap, or undefined when there is none. A record that is not one this release wrote
 * (broken JSON, a missing field, an unknown phase) is refused with what is wrong and what to do, never guessed at.
 */
export function parseState(cm: KObject | undefined): UpgradeState | undefined {
  if (!cm) return undefined;
  const text = cm.data?.['state.json'];
  let raw: unknown;
  let problem: string | undefined;
  if (text === undefined) problem = 'it has no state.json';
  else {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      problem = `its state.json is not valid JSON (${(err as Error).message})`;
    }
  }
  problem ??= stateProblem(raw);
  if (problem) throw usageError(recordUnusable(cm.metadata.namespace ?? '', cm.metadata.name, problem));
  return raw as UpgradeState;
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

const METHODS: readonly string[] = ['link', 'copy', 'clone', 'swap'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isPhase = (v: unknown): boolean => (PHASES as readonly unknown[]).includes(v);
const isScaled = (v: unknown): boolean =>
  isObject(v) &&
  (v.kind === 'StatefulSet' || v.kind === 'Deployment') &&
  isName(v.name) &&
  Number.isInteger(v.replicas) &&
  (v.replicas as number) >= 0;

/** What is wrong with a parsed state.json, or undefined when it is a record this release can act on. Pure. */
export function stateProblem(raw: unknown): string | undefined {
  if (!isObject(raw)) return 'its state.json is not a JSON object';
  const s = raw;
  if (s.version !== 1)
    return `its version is ${JSON.stringify(s.version)}, not 1 (written by another release of kubectl-pgupgrade?)`;
  if (!isPhase(s.phase))
    return `its phase ${JSON.stringify(s.phase)} is none of ${PHASES.join(', ')} (written by another release?)`;
  if (!isScaled(s.workload)) return 'its workload is not a StatefulSet or Deployment with a name and replicas';
  if (!isName(s.workloadUid) || !isName(s.pvc))
    return "it does not name the workload's UID and data PVC (written by an earlier release?)";
  const strings = [
    'container',
    'fromVersion',
    'oldImage',
    'targetImage',
    'jobImage',
    'fingerprintConfigMap',
    'job',
  ] as const;
  const badString = strings.find((k) => typeof s[k] !== 'string');
  if (badString) return `its ${badString} is not a string`;
  if (!Number.isInteger(s.from) || !Number.isInteger(s.to) || (s.from as number) >= (s.to as number))
    return `its majors from ${JSON.stringify(s.from)} to ${JSON.stringify(s.to)} are not an upgrade`;
  if (!METHODS.includes(s.method as string))
    return `its method ${JSON.stringify(s.method)} is none of ${METHODS.join(', ')}`;
  if (!Array.isArray(s.apps) || !s.apps.every(isScaled))
    return 'its apps are not a list of workloads with names and replicas';
  if (s.snapshot !== null && !isName(s.snapshot)) return 'its snapshot is neither a name nor null';
  if (s.strategy !== undefined && !isRecordedStrategy(s.strategy))
    return 'its strategy is not a RollingUpdate strategy with integer or percent values';
  const job = s.jobSpec;
  if (
    !isObject(job) ||
    !isName(job.name) ||
    !isName(job.pgdata) ||
    job.claim !== s.pvc ||
    job.from !== s.from ||
    job.to !== s.to
  ) {
    return "its jobSpec is missing, or does not match the record's PVC and majors";
  }
  if (!Array.isArray(s.history) || !s.history.every((h) => isObject(h) && isPhase(h.phase) && typeof h.at === 'string'))
    return 'its history is not a list of known phases';
  if (s.pausedOwners !== undefined && !(Array.isArray(s.pausedOwners) && s.pausedOwners.every(isPausedOwner))) {
    return 'its pausedOwners are not a list of Argo CD Applications or Flux Kustomizations and HelmReleases with the values to put back';
  }
  const r = s.relayout;
  const isPath = (v: unknown) => typeof v === 'string' && v.startsWith('/');
  if (
    r !== undefined &&
    !(
      isObject(r) &&
      isPath(r.fromMount) &&
      isPath(r.toMount) &&
      r.pgdata === job.pgdata &&
      job.root === r.toMount &&
      (r.pgdataEnv === null || typeof r.pgdataEnv === 'string')
    )
  )
    return 'its relayout does not name the mount paths, and the PGDATA and root of its jobSpec';
  return undefined;
}

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
