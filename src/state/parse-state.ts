import { usageError } from '../exit-codes.ts';
import type { KObject } from '../k8s/cluster.ts';
import { isPausedOwner } from '../postgres/gitops-pause.ts';
import { isRecordedStrategy } from '../postgres/strategy.ts';
import { recordUnusable } from './binding.ts';
import { PHASES, type UpgradeState } from './state.ts';

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
  if (job.maxLocks !== undefined && !(Number.isInteger(job.maxLocks) && (job.maxLocks as number) > 0))
    return "its jobSpec's maxLocks is not a positive integer";
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
