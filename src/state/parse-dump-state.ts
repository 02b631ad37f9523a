import { usageError } from '../exit-codes.ts';
import type { KObject } from '../k8s/cluster.ts';
import { isPriorSettings } from '../postgres/alter-system.ts';
import { isPausedOwner } from '../postgres/gitops-pause.ts';
import { recordUnusable } from './binding.ts';
import { DUMP_PHASES, type DumpState } from './dump-state.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with a parsed dump record, or undefined. Pure. */
export function dumpStateProblem(raw: unknown): string | undefined {
  if (!isObject(raw)) return 'its state.json is not a JSON object';
  if (raw.version !== 1 || raw.method !== 'dump') return 'it is not a version 1 record of an upgrade by dump';
  if (!(DUMP_PHASES as readonly unknown[]).includes(raw.phase))
    return `its phase ${JSON.stringify(raw.phase)} is none of ${DUMP_PHASES.join(', ')}`;
  const w = raw.workload;
  if (!isObject(w) || typeof w.name !== 'string' || typeof raw.workloadUid !== 'string') return 'it names no workload';
  if (typeof raw.pvc !== 'string')
    return 'it does not say where the source keeps its data (pvc: a PVC name, or "" for none)';
  const t = raw.target;
  if (!isObject(t) || typeof t.name !== 'string' || typeof t.pvc !== 'string' || typeof t.superuser !== 'string')
    return 'it names no target instance';
  if (t.secret !== undefined && typeof t.secret !== 'string') return 'its target Secret is not a name';
  if (t.existing !== undefined && typeof t.existing !== 'boolean')
    return 'its target\'s "existing" is not true or false';
  if (
    (raw.targetBefore !== undefined && !isPriorSettings(raw.targetBefore)) ||
    (raw.sourceBefore !== undefined && !isPriorSettings(raw.sourceBefore))
  ) {
    return 'its settings before the upgrade are not a list of names and values';
  }
  if (!Array.isArray(raw.apps) || !Array.isArray(raw.settings) || !Array.isArray(raw.history))
    return 'its apps, settings or history are not lists';
  if (!Number.isInteger(raw.from) || !Number.isInteger(raw.to)) return 'its majors are not integers';
  if (raw.pausedOwners !== undefined && !(Array.isArray(raw.pausedOwners) && raw.pausedOwners.every(isPausedOwner))) {
    return 'its pausedOwners are not a list of Argo CD Applications or Flux Kustomizations and HelmReleases with the values to put back';
  }
  return undefined;
}

/** The dump record in a ConfigMap, undefined when there is none; an unusable one is refused (exit 2). */
export function parseDumpState(cm: KObject | undefined): DumpState | undefined {
  if (!cm) return undefined;
  let raw: unknown;
  let problem: string | undefined;
  try {
    raw = JSON.parse(cm.data?.['state.json'] ?? '');
  } catch (err) {
    problem = `its state.json is not valid JSON (${(err as Error).message})`;
  }
  problem ??= dumpStateProblem(raw);
  if (problem) throw usageError(recordUnusable(cm.metadata.namespace ?? '', cm.metadata.name, problem));
  return raw as DumpState;
}
