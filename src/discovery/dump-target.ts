import type { Cluster, Pod } from '../k8s/cluster.ts';
import type { SourceDiscovery } from './discover.ts';

/** The new instance of an upgrade by dump, as its record names it. */
export interface DumpTargetRef {
  kind: 'StatefulSet' | 'Deployment';
  name: string;
  container: string;
  superuser: string;
}

const deleting = (p: Pod) => 'deletionTimestamp' in p.metadata && !!p.metadata.deletionTimestamp;

/** The ready pod among `pods`, one that is being deleted excepted. */
export function readyPodOf(pods: Pod[]): Pod | undefined {
  return pods.find((p) => p.ready && !deleting(p));
}

/**
 * The new instance as psql and the fingerprint reach it, from the source's discovery: its pod, its container, its
 * superuser, port 5432. The password is the source's (the new instance is given the same Secret).
 */
export function asDumpTarget(
  d: SourceDiscovery,
  t: Pick<DumpTargetRef, 'container' | 'superuser'>,
  pod: Pod | undefined,
): SourceDiscovery {
  return {
    ...d,
    pod,
    container: { name: t.container },
    port: 5432,
    superuser: { ...d.superuser, user: t.superuser } as SourceDiscovery['superuser'],
  };
}

/**
 * Finds the new instance's pods by its workload's own selector (validate, which has no plan to rebuild it from):
 * its ready pod, else any, else none. Undefined when the workload itself is gone.
 */
export async function findDumpTarget(
  cluster: Cluster,
  d: SourceDiscovery,
  t: DumpTargetRef,
): Promise<SourceDiscovery | undefined> {
  const w = await cluster.readObject({ apiVersion: 'apps/v1', kind: t.kind, namespace: d.namespace, name: t.name });
  if (!w) return undefined;
  const selector = (w.spec?.selector?.matchLabels ?? {}) as Record<string, string>;
  const pods = Object.keys(selector).length ? await cluster.listPods(d.namespace, selector) : [];
  return asDumpTarget(d, t, readyPodOf(pods) ?? pods.find((p) => !deleting(p)));
}
