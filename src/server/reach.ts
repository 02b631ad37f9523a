/** How check reaches the database server (a ready pod, or a probe pod on the volume) and with which password. */
import type { Cluster } from '../k8s/cluster.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import { readSuperuser } from '../discovery/credentials.ts';

/** How the database was reached, for the report. */
export interface Reach {
  pod: string;
  container: string;
  /** Connect over this Unix socket directory instead of TCP (check's probe pod). */
  socketDir?: string;
  /** Connect over TCP to this address instead of 127.0.0.1 (the pod's own IP: a login as another pod's client makes). */
  host?: string;
}

/** How check reaches the server: a ready pod (live), or, with no pod at all, a probe pod on the volume. */
export type Mode = 'live' | 'offline';

/** Live when a pod is ready; offline when none exists; an error when pods exist but none is ready. */
export function modeOf(d: SourceDiscovery): Mode {
  if (!d.pod) return 'offline';
  if (d.pod.ready) return 'live';
  const where = `${d.workload.kind} ${d.namespace}/${d.workload.metadata.name}`;
  throw new CliError(
    `${where}: pod ${d.pod.metadata.name} exists but is not ready (${d.pod.phase}). check reads a running database through its pod, ` +
      `or a stopped one through a probe pod on its volume, but never beside a server that may be starting: make it ready, or scale it to 0 ` +
      `(kubectl -n ${d.namespace} scale ${d.workload.kind.toLowerCase()}/${d.workload.metadata.name} --replicas=0) and run check again`,
    ExitCode.failed,
  );
}

/** The database pod's container. */
export function liveReach(d: SourceDiscovery): Reach {
  return { pod: d.pod?.metadata.name ?? '', container: d.container.name };
}

/** Reads the superuser's password (src/discovery/credentials.ts); it never leaves memory. */
export async function readPassword(cluster: Cluster, d: SourceDiscovery): Promise<string> {
  return (await readSuperuser(cluster, d)).password;
}
