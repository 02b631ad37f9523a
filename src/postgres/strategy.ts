import type { DeploymentStrategy, Workload } from '../k8s/cluster.ts';

/**
 * A Deployment's RollingUpdate strategy, which the upgrade sets aside: with it, a new pod can start (maxSurge)
 * while the old server still runs on the same ReadWriteOnce volume. Recreate stops the old pod before it makes a
 * new one, so the new major never meets a running old server. The user's strategy is recorded and put back as it
 * was once the new server is up (or, after --rollback, the old one).
 */

/**
 * The strategy to set aside: a Deployment's RollingUpdate (also when unset, Kubernetes' default), exactly as it
 * is; undefined for Recreate and for a StatefulSet (whose pods are replaced one by one, never two at once).
 */
export function rollingStrategyOf(w: Pick<Workload, 'kind' | 'strategy'>): DeploymentStrategy | undefined {
  if (w.kind !== 'Deployment') return undefined;
  const s = w.strategy;
  if (s?.type !== undefined && s.type !== 'RollingUpdate') return undefined;
  return { type: 'RollingUpdate', ...(s?.rollingUpdate ? { rollingUpdate: { ...s.rollingUpdate } } : {}) };
}

/** The merge patch that makes a Deployment Recreate: rollingUpdate must go with it (the apiserver refuses both). */
export const RECREATE_PATCH = { spec: { strategy: { type: 'Recreate', rollingUpdate: null } } } as const;

/** The merge patch that puts the recorded strategy back, its maxSurge and maxUnavailable as they were. */
export function restoreStrategyPatch(s: DeploymentStrategy): {
  spec: { strategy: { type: string; rollingUpdate: DeploymentStrategy['rollingUpdate'] | null } };
} {
  return { spec: { strategy: { type: s.type ?? 'RollingUpdate', rollingUpdate: s.rollingUpdate ?? null } } };
}

/** How the strategy reads in a task title: `RollingUpdate (maxSurge 1, maxUnavailable 0)`. */
export function describeStrategy(s: DeploymentStrategy): string {
  const r = s.rollingUpdate;
  return `${s.type ?? 'RollingUpdate'}${r ? ` (maxSurge ${r.maxSurge ?? 'default'}, maxUnavailable ${r.maxUnavailable ?? 'default'})` : ''}`;
}

/** Is this a strategy record that restoreStrategyPatch can put back? For the state's validation. Pure. */
export function isRecordedStrategy(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || (v as DeploymentStrategy).type !== 'RollingUpdate') return false;
  const r = (v as DeploymentStrategy).rollingUpdate;
  const ok = (x: unknown) => x === undefined || typeof x === 'string' || Number.isInteger(x);
  return r === undefined || (typeof r === 'object' && r !== null && ok(r.maxSurge) && ok(r.maxUnavailable));
}
