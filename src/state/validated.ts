import type { KObject } from '../k8s/cluster.ts';

/** What a record (in place or by dump) says of its phases: each with its time. */
export interface RecordHistory {
  history: ReadonlyArray<{ phase: string; at: string }>;
}

/**
 * The record of `validate` passing, and the contract between `validate` and `cleanup`.
 *
 * When every check of `kubectl pgupgrade validate` passes (no FAIL) for an upgrade whose record says "done",
 * validate sets this annotation on the upgrade's state ConfigMap (`pgupgrade-state-<workload>`, or by dump
 * `pgupgrade-dump-<workload>`) to the time it
 * passed, as an RFC 3339 UTC timestamp (`new Date().toISOString()`), with a JSON merge patch of
 * `metadata.annotations` only (state.json is left as it is). A later run that passes writes it again.
 * `cleanup` removes the old cluster and the snapshot only once this time is after the upgrade finished (the time of
 * the record's `done` phase), unless `--force`.
 */
export const VALIDATED_AT = 'pgupgrade.kubectl.io/validated-at';

/** The merge patch with which validate records that it passed. */
export function validatedPatch(at = new Date()): { metadata: { annotations: Record<string, string> } } {
  return { metadata: { annotations: { [VALIDATED_AT]: at.toISOString() } } };
}

/** When the upgrade finished (its `done` phase, or another such as `rolled-back`), or undefined when it has not. */
export function upgradeDoneAt(s: RecordHistory, phase = 'done'): Date | undefined {
  const at = [...s.history].reverse().find((h) => h.phase === phase)?.at;
  const t = at ? new Date(at) : undefined;
  return t && !Number.isNaN(t.getTime()) ? t : undefined;
}

/** When validate last passed since the upgrade finished, read from the state ConfigMap; undefined when it has not. */
export function validatedSince(cm: KObject | undefined, s: RecordHistory): Date | undefined {
  const raw = cm?.metadata.annotations?.[VALIDATED_AT];
  const at = raw ? new Date(raw) : undefined;
  const done = upgradeDoneAt(s);
  if (!at || Number.isNaN(at.getTime()) || !done) return undefined;
  return at.getTime() >= done.getTime() ? at : undefined;
}
