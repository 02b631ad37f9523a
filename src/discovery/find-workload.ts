import { usageError } from '../exit-codes.ts';
import type { Cluster, Workload } from '../k8s/cluster.ts';
import { isPostgresWorkload, parseWorkloadRef, refOf } from '../postgres/workload.ts';
import { describeClients, type ImageClient, listJobClients, partWorkloads } from './clients.ts';

const kindName = (w: Workload) => refOf({ kind: w.kind, name: w.metadata.name });

/** The clients named in an error, so that the user sees why they were not taken for the database. */
const clientsSaid = (clients: ImageClient[]) =>
  clients.length ? `; clients on a PostgreSQL image there, not candidates: ${describeClients(clients).join('; ')}` : '';

/**
 * Finds the workload: the one named, or the single PostgreSQL server of the namespace. Workloads, CronJobs and Jobs
 * that run the image as a client (a command that replaces the server, nothing a server keeps) are named, never
 * candidates. Exit 2 when none or several servers are found.
 */
export async function findWorkload(
  cluster: Cluster,
  ns: string,
  ref?: string,
): Promise<{ workload: Workload; clients: ImageClient[] }> {
  const [all, jobClients] = await Promise.all([cluster.listWorkloads(ns), listJobClients(cluster, ns)]);
  const { servers, clients: workloadClients } = partWorkloads(all);
  if (ref) {
    let parsed: ReturnType<typeof parseWorkloadRef>;
    try {
      parsed = parseWorkloadRef(ref);
    } catch (err) {
      throw usageError((err as Error).message);
    }
    const found = all.filter((w) => w.metadata.name === parsed.name && (!parsed.kind || w.kind === parsed.kind));
    const named = found[0];
    const others = [...partWorkloads(all.filter((w) => w !== named)).clients, ...jobClients];
    if (found.length === 1 && named) {
      if (!isPostgresWorkload(named)) {
        const images = named.template.spec.containers.map((c) => c.image).join(', ');
        throw usageError(
          `${kindName(named)} in namespace ${ns} does not run PostgreSQL (images: ${images}; no label app.kubernetes.io/name=postgresql); name the database's workload`,
        );
      }
      // Named by the user: taken as the database even where it looks like a client (a wrapper script of its own).
      return { workload: named, clients: others };
    }
    if (found.length > 1)
      throw usageError(`both sts/${parsed.name} and deploy/${parsed.name} exist in namespace ${ns}: name one of them`);
    throw usageError(
      `no ${parsed.kind ?? 'StatefulSet or Deployment'} named ${parsed.name} in namespace ${ns}` +
        (servers.length ? `; PostgreSQL servers there: ${servers.map(kindName).join(', ')}` : '') +
        clientsSaid(others),
    );
  }
  const clients = [...workloadClients, ...jobClients];
  if (servers.length === 1 && servers[0]) return { workload: servers[0], clients };
  if (servers.length === 0) {
    throw usageError(
      `no PostgreSQL server StatefulSet or Deployment found in namespace ${ns} (by image or the label app.kubernetes.io/name=postgresql)` +
        `${clientsSaid(clients)}; name the database's workload, e.g. sts/<name>, or pass -n`,
    );
  }
  throw usageError(
    `several PostgreSQL servers in namespace ${ns}: ${servers.map(kindName).join(', ')}; name the one to check${clientsSaid(clients)}`,
  );
}

/**
 * The application workloads: those the selector matches, never the database itself (a selector such as
 * `app.kubernetes.io/part-of=shop` often matches it too, and the database is stopped on its own terms).
 */
export function appsOf(all: Workload[], database: Workload, selector: Record<string, string>): Workload[] {
  return all.filter(
    (w) =>
      !(w.kind === database.kind && w.metadata.name === database.metadata.name) &&
      Object.entries(selector).every(([k, v]) => w.metadata.labels?.[k] === v),
  );
}
