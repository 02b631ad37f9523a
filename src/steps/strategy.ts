import type { Cluster, DeploymentStrategy } from '../k8s/cluster.ts';
import { RECREATE_PATCH, restoreStrategyPatch } from '../postgres/strategy.ts';

// The Deployment strategy's two patches, applied (src/postgres/strategy.ts says why).
const ref = (ns: string, name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name });

/** Switches the Deployment to Recreate (idempotent). */
export async function switchToRecreate(cluster: Cluster, ns: string, name: string): Promise<void> {
  await cluster.patchObject(ref(ns, name), RECREATE_PATCH, 'merge');
}

/** Puts the recorded strategy back (idempotent: a Deployment that has it already is left as it is). */
export async function restoreStrategy(
  cluster: Cluster,
  ns: string,
  name: string,
  s: DeploymentStrategy,
): Promise<void> {
  await cluster.patchObject(ref(ns, name), restoreStrategyPatch(s), 'merge');
}
