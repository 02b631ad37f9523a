import type { Cluster, Pod, Workload } from '../k8s/cluster.ts';
import { usageError } from '../exit-codes.ts';
import { labelsMatch } from '../k8s/selector.ts';
import { discover, type Discovery, type DUMP_SOURCE, type SourceDiscovery } from './discover.ts';

type AppOptions = {
  superuserSecret?: { name: string; key: string };
  appSelector: Record<string, string>;
  apps: string[];
};

const KINDS: Record<string, Workload['kind']> = {
  deploy: 'Deployment',
  deployment: 'Deployment',
  sts: 'StatefulSet',
  statefulset: 'StatefulSet',
};

/**
 * The application workloads named with `--app kind/name` (repeatable), which the selector does not match but which
 * must stop with the others (they hold connections, they write). Each must exist and must not be the database.
 */
export async function namedApps(cluster: Cluster, ns: string, refs: string[], database: Workload): Promise<Workload[]> {
  if (!refs.length) return [];
  const all = await cluster.listWorkloads(ns);
  return refs.map((ref) => {
    const [k, name, extra] = ref.split('/');
    const kind = KINDS[(k ?? '').toLowerCase()];
    if (!kind || !name || extra !== undefined)
      throw usageError(
        `--app ${ref}: name a Deployment or StatefulSet as deploy/<name> or sts/<name>; nothing was changed`,
      );
    if (kind === database.kind && name === database.metadata.name)
      throw usageError(`--app ${ref} is the database itself; it is stopped on its own terms; nothing was changed`);
    const w = all.find((x) => x.kind === kind && x.metadata.name === name);
    if (!w) throw usageError(`--app ${ref}: no ${kind} ${name} in namespace ${ns}; nothing was changed`);
    return w;
  });
}

/** The same workloads once: the selector's and the named ones. */
export function mergeApps(a: Workload[], b: Workload[]): Workload[] {
  const key = (w: Workload) => `${w.kind}/${w.metadata.name}`;
  return [...new Map([...a, ...b].map((w) => [key(w), w])).values()];
}

/** The pods among `pods` that belong to none of `apps` (by their selectors) and are not the database's. */
export function podsOutside(pods: Pod[], apps: Workload[], database: Workload): Pod[] {
  const owned = (p: Pod, w: Workload) => labelsMatch(p.metadata.labels, w.selector, w.matchExpressions);
  return pods.filter((p) => !owned(p, database) && !apps.some((w) => owned(p, w)));
}

/** Discovery for an upgrade: the selector's applications and those named with `--app`, checked before anything else. */
export async function discoverWithApps(
  cluster: Cluster,
  ns: string,
  ref: string | undefined,
  opts: AppOptions,
): Promise<Discovery>;
export async function discoverWithApps(
  cluster: Cluster,
  ns: string,
  ref: string | undefined,
  opts: AppOptions,
  how: typeof DUMP_SOURCE,
): Promise<SourceDiscovery>;
export async function discoverWithApps(
  cluster: Cluster,
  ns: string,
  ref: string | undefined,
  opts: AppOptions,
  how?: typeof DUMP_SOURCE,
): Promise<SourceDiscovery> {
  const d = await discover(cluster, ns, ref, opts.appSelector, { superuserSecret: opts.superuserSecret, ...how });
  return { ...d, apps: mergeApps(d.apps, await namedApps(cluster, d.namespace, opts.apps, d.workload)) };
}
