import type { Cluster } from '../k8s/cluster.ts';
import { parseIncompatible, refOf, type Incompatible } from '../postgres/workload.ts';
import type { SourceDiscovery } from './discover.ts';

/**
 * Whether the database pod refuses its data because its image was moved to a newer major (a `helm upgrade`, a
 * floating tag) without the data: read from its container's log, the last terminated run's first. Read-only.
 */
export async function incompatibleImage(cluster: Cluster, d: SourceDiscovery): Promise<Incompatible | undefined> {
  const pod = d.pod;
  if (!pod || pod.ready) return undefined;
  for (const previous of [true, false]) {
    const found = parseIncompatible(
      await cluster.podLog(d.namespace, pod.metadata.name, d.container.name, 60, previous).catch(() => ''),
    );
    if (found) return found;
  }
  return undefined;
}

/** What check says about it, and what to do. */
export function incompatibleAdvice(d: SourceDiscovery, inc: Incompatible): string {
  const ref = refOf({ kind: d.workload.kind, name: d.workload.metadata.name });
  return (
    `${d.workload.kind} ${d.namespace}/${d.workload.metadata.name}: pod ${d.pod?.metadata.name} crash-loops: its image ${d.image} runs PostgreSQL ` +
    `${inc.serverMajor}, but the data${d.pvc ? ` on PVC ${d.pvc.metadata.name}` : ''} is PostgreSQL ${inc.dataMajor} (the server says: "${inc.lines}"). The image was moved ` +
    `to a new major (a helm upgrade, a floating tag) without the data.\n  Upgrade the data to ${inc.serverMajor}, keeping the image: ` +
    `kubectl pgupgrade upgrade -n ${d.namespace} ${ref} --to ${inc.serverMajor} (it asks first, scales the crash-looping database to 0, checks the ` +
    `volume through a probe pod and snapshots it).\n  Or go back: set the image to your PostgreSQL ${inc.dataMajor} image again.`
  );
}
