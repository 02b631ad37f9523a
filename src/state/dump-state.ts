import type { Cluster, KObject } from '../k8s/cluster.ts';
import type { ServiceSpec } from '../manifests/service-cutover.ts';
import { OWNED_LABELS } from '../manifests/probe-pod.ts';
import type { LoadSetting } from '../postgres/dump-plan.ts';
import type { PriorSetting } from '../postgres/alter-system.ts';
import type { PausedOwner } from '../postgres/gitops-pause.ts';
import { upgradeNames, type RecordedSource, type ScaledWorkload } from './state.ts';
import { saveRecord } from './store.ts';

/**
 * The record of an upgrade by dump (`--method dump`), in a ConfigMap of its own beside the in-place record
 * (`pgupgrade-dump-<workload>`): its phases are not the in-place ones, and the old instance is never written, so
 * its way back is the Service's selector, not a snapshot. `load-started` is recorded BEFORE the load begins: a
 * run that finds it without `loaded` recreates the target's volume and loads again (never resumed half-written).
 * The new instance's fingerprint is read from a snapshot held before the cutover, while the applications start,
 * and the source's beside it (nothing writes the source once they are down: they use the new instance; it stays up
 * until then), so neither costs downtime.
 */
export const DUMP_PHASES = [
  'preflight',
  'target-created',
  'target-ready',
  'target-tuned',
  'gitops-paused',
  'apps-down',
  'source-read-only',
  'load-started',
  'loaded',
  'settings-back',
  'cutover',
  'apps-up',
  'verified',
  'analyzed',
  'source-down',
  'done',
  'rolled-back',
] as const;
export type DumpPhase = (typeof DUMP_PHASES)[number];

/**
 * `pvc` (RecordedSource's) is the source's data PVC, or NO_VOLUME ('') where the source has none: its data is in its
 * container's writable layer, and the old instance is then left running after the cutover (keepsSourceRunning).
 */
export interface DumpState extends RecordedSource {
  method: 'dump';
  /** The new instance: its workload (kind as the source's), PVC, Service, image and superuser. */
  target: {
    kind: ScaledWorkload['kind'];
    name: string;
    pvc: string;
    service: string;
    image: string;
    superuser: string;
    container: string;
    /** md5 hashes come over: the new instance's pg_hba takes md5 (which accepts SCRAM too). */
    md5Logins: boolean;
    /** The new PVC's size as planned (a resumed run makes the same PVC, also where the source has none to copy). */
    size?: string;
    /**
     * The Secret this upgrade created for the new instance's superuser (key SUPERUSER_SECRET_KEY), where the
     * source had its password written in its manifest; absent: the new instance uses the source's Secret. Its name
     * only: no password is ever recorded.
     */
    secret?: string;
    /** The source's default encoding and locale, for the new instance's initdb (absent in a record of an earlier version). */
    initdb?: string[];
    /**
     * An existing instance named by --target, not made by the plugin: never created, deleted, reset or scaled to 0
     * by it (its PVC, if any, and Service are its own). Absent in records of the plugin's own new instance.
     */
    existing?: boolean;
  };
  /** The Services that lead to the source, each with its spec before the cutover (the rollback puts it back). */
  services: Array<{ name: string; before: ServiceSpec }>;
  apps: ScaledWorkload[];
  settings: LoadSetting[];
  /**
   * The target's own ALTER SYSTEM values of the load's settings, read before the load's tuning first changed them
   * (recorded before it, so a resumed tuning never takes its own values for the owner's): put back exactly after.
   */
  targetBefore?: PriorSetting[];
  /** The source's own ALTER SYSTEM value of default_transaction_read_only, read before it was made read-only. */
  sourceBefore?: PriorSetting[];
  jobs: number;
  cutover: boolean;
  /**
   * When a snapshot of the loaded instance was held and the applications let in while its content is compared
   * with the source's; absent when it was compared before (--full-verify). A run resumed after it cannot compare
   * again (the applications have written since): validate judges the data then.
   */
  verifyHeldAt?: string;
  /** --pause-gitops: the Argo CD and Flux objects this upgrade pauses, each with the value to put back; when they were. */
  pausedOwners?: PausedOwner[];
  ownersResumedAt?: string;
  phase: DumpPhase;
  history: Array<{ phase: DumpPhase; at: string }>;
}

/** The dump record's ConfigMap name. */
export function dumpStateName(workload: string): string {
  return upgradeNames(workload, 0).state.replace(/^pgupgrade-state-/, 'pgupgrade-dump-');
}

/** Where the source's fingerprint is kept, for a resumed run, the rollback and validate. */
export const dumpReferenceName = (stateName: string): string => `${stateName}-fingerprint`;

/** Has `p` been done? (`rolled-back` is past every other phase.) */
export function isDumpDone(s: DumpState | undefined, p: DumpPhase): boolean {
  return s !== undefined && DUMP_PHASES.indexOf(s.phase) >= DUMP_PHASES.indexOf(p);
}

/**
 * What a run that stopped at the record's phase leaves changed on the servers, to be said: the target tuned for the
 * load (fsync and full_page_writes off) from its tuning (its own values are recorded just before) until the settings
 * are put back, and the source read-only from its own value's record until the cutover (with a cutover it stays so,
 * stopped, until --rollback).
 */
export function leftChanged(s: DumpState): { tuned: boolean; readOnly: boolean } {
  return {
    tuned: (s.targetBefore !== undefined || isDumpDone(s, 'target-tuned')) && !isDumpDone(s, 'settings-back'),
    readOnly: s.sourceBefore !== undefined && !isDumpDone(s, 'cutover'),
  };
}

/** The record with one more phase done. */
export function advanceDump(s: DumpState, p: DumpPhase, at = new Date()): DumpState {
  return { ...s, phase: p, history: [...s.history, { phase: p, at: at.toISOString() }] };
}

/** The ConfigMap that holds a dump record. */
export function dumpStateConfigMap(name: string, ns: string, s: DumpState): KObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: ns,
      labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'upgrade-state' },
      annotations: {
        'pgupgrade.kubectl.io/workload': `${s.workload.kind}/${s.workload.name}`,
        'pgupgrade.kubectl.io/method': 'dump',
      },
    },
    data: { 'state.json': JSON.stringify(s, null, 1) },
  };
}

/** Writes the record over the version last seen (undefined: it must not exist yet); a 409 stops the run. */
export async function saveDumpState(
  cluster: Cluster,
  ns: string,
  name: string,
  s: DumpState,
  version: string | undefined,
): Promise<string | undefined> {
  return saveRecord(cluster, dumpStateConfigMap(name, ns, s), s.phase, version);
}

/**
 * Why an in-place upgrade of workload `uid` must not start, given the record of an upgrade by dump of it, or
 * undefined: the dump stopped half-way; or it is done and this workload is its old instance, kept as the way back
 * (its --rollback points the applications back at its untouched data), unless `discard` (--discard-dump-rollback).
 */
export function inPlaceOverDumpProblem(
  s: DumpState | undefined,
  uid: string | undefined,
  ns: string,
  stateName: string,
  discard: boolean,
): string | undefined {
  if (!s) return undefined;
  const ref = `${s.workload.kind === 'StatefulSet' ? 'sts' : 'deploy'}/${s.workload.name}`;
  if (s.phase !== 'done' && s.phase !== 'rolled-back') {
    return `an upgrade by dump of ${ref} to ${s.to} stopped after "${s.phase}": resume it (--method dump) or undo it (--rollback) first; nothing was changed`;
  }
  if (s.phase !== 'done' || !s.cutover || s.workloadUid !== uid || discard) return undefined;
  return (
    `${s.workload.kind} ${ns}/${s.workload.name} is the old instance that the upgrade by dump to ${s.to} keeps as its way back (ConfigMap ` +
    `${ns}/${stateName}, done; ${s.target.kind} ${s.target.name} serves PostgreSQL ${s.to}): its --rollback points the applications back at this ` +
    `PostgreSQL ${s.fromVersion} data, which an upgrade in place would destroy. Go back to it first (kubectl pgupgrade upgrade -n ${ns} ${ref} --rollback), ` +
    `or, once you no longer need the way back, remove it (kubectl pgupgrade cleanup -n ${ns} ${ref} --delete-old-instance); to upgrade it anyway and ` +
    'lose the way back, pass --discard-dump-rollback. Nothing was changed'
  );
}
