import type { Cluster, Container, Pod, Pvc, Workload } from '../k8s/cluster.ts';
import { usageError } from '../exit-codes.ts';
import {
  claimNameOf, databaseContainer, dataMountOf, isPostgresWorkload, managersOf, parseWorkloadRef, pgdataOf,
  portOf, refOf, superuserOf, tagMajor, type Flavour, type SuperuserSource,
} from '../postgres/workload.ts';
import { judgeLayout } from '../postgres/layout.ts';

/** What check found before asking the database anything. */
export interface Discovery {
  namespace: string;
  namespaceLabels: Record<string, string>;
  workload: Workload;
  container: Container;
  pod?: Pod;
  flavour: Flavour;
  /** What in the pod showed the layout (not the repository's name: vendors ship Bitnami's under theirs). */
  layoutEvidence: string;
  image: string;
  pgdata: string;
  port: number;
  mountPath: string;
  pvc: Pvc;
  csiDriver?: string;
  superuser?: SuperuserSource;
  fsGroup?: number;
  managers: string[];
  /** Other pods that mount the data PVC. */
  volumeUsers: string[];
  apps: Workload[];
  /** Pod IP → pod name, to say who holds the connections. */
  podsByIp: Record<string, string>;
}

const kindName = (w: Workload) => refOf({ kind: w.kind, name: w.metadata.name });

/** Finds the workload: the one named, or the single PostgreSQL workload of the namespace. Exit 2 otherwise. */
export async function findWorkload(cluster: Cluster, ns: string, ref?: string): Promise<Workload> {
  if (ref) {
    let parsed;
    try {
      parsed = parseWorkloadRef(ref);
    } catch (err) {
      throw usageError((err as Error).message);
    }
    const kinds: Array<Workload['kind']> = parsed.kind ? [parsed.kind] : ['StatefulSet', 'Deployment'];
    const found = (await Promise.all(kinds.map((k) => cluster.getWorkload(ns, k, parsed.name)))).filter((w): w is Workload => !!w);
    if (found.length === 1 && found[0]) {
      const w = found[0];
      if (!isPostgresWorkload(w)) {
        const images = w.template.spec.containers.map((c) => c.image).join(', ');
        throw usageError(`${kindName(w)} in namespace ${ns} does not run PostgreSQL (images: ${images}; no label app.kubernetes.io/name=postgresql); name the database's workload`);
      }
      return w;
    }
    if (found.length > 1) throw usageError(`both sts/${parsed.name} and deploy/${parsed.name} exist in namespace ${ns}: name one of them`);
    const candidates = (await cluster.listWorkloads(ns)).filter(isPostgresWorkload).map(kindName);
    throw usageError(`no ${parsed.kind ?? 'StatefulSet or Deployment'} named ${parsed.name} in namespace ${ns}` +
      (candidates.length ? `; PostgreSQL workloads there: ${candidates.join(', ')}` : ''));
  }
  const pg = (await cluster.listWorkloads(ns)).filter(isPostgresWorkload);
  if (pg.length === 1 && pg[0]) return pg[0];
  if (pg.length === 0) throw usageError(`no PostgreSQL StatefulSet or Deployment found in namespace ${ns} (by image or the label app.kubernetes.io/name=postgresql); name it, e.g. sts/<name>, or pass -n`);
  throw usageError(`several PostgreSQL workloads in namespace ${ns}: ${pg.map(kindName).join(', ')}; name the one to check`);
}

/**
 * The application workloads: those the selector matches, never the database itself (a selector such as
 * `app.kubernetes.io/part-of=shop` often matches it too, and the database is stopped on its own terms).
 */
export function appsOf(all: Workload[], database: Workload, selector: Record<string, string>): Workload[] {
  return all.filter((w) => !(w.kind === database.kind && w.metadata.name === database.metadata.name) &&
    Object.entries(selector).every(([k, v]) => w.metadata.labels?.[k] === v));
}

/** Discovery: the workload, its pod, volume, Secret, and what surrounds it. */
export async function discover(cluster: Cluster, ns: string, ref: string | undefined, appSelector: Record<string, string>): Promise<Discovery> {
  const labels = await cluster.namespaceLabels(ns).catch((err: { code?: number }) => {
    if (err.code === 403) return {} as Record<string, string>; // not allowed to read namespaces: Pod Security level unknown
    throw err;
  });
  if (!labels) throw usageError(`namespace ${ns} not found in context ${cluster.contextName}; pass -n <namespace>`);
  const workload = await findWorkload(cluster, ns, ref);
  const container = databaseContainer(workload);
  const image = container.image ?? '';
  const { flavour, evidence: layoutEvidence } = judgeLayout(container, workload.template.spec);
  const pgdata = pgdataOf(container, flavour, tagMajor(image));
  const mount = dataMountOf(container, pgdata);
  const where = `${workload.kind} ${ns}/${workload.metadata.name}`;
  if (!mount) throw usageError(`${where}: no volume is mounted at PGDATA ${pgdata}; the data would not survive a restart, so there is nothing to upgrade in place`);
  const claim = claimNameOf(workload, mount.volume);
  if (!claim) throw usageError(`${where}: the volume ${mount.volume} at ${mount.mountPath} is not a PersistentVolumeClaim`);
  const pvc = await cluster.getPvc(ns, claim);
  if (!pvc) throw usageError(`${where}: its data PVC ${claim} does not exist`);
  const pods = await cluster.listPods(ns);
  const own = pods.filter((p) => Object.entries(workload.selector).every(([k, v]) => p.metadata.labels?.[k] === v));
  const pod = own.find((p) => p.ready) ?? own.find((p) => p.phase === 'Running') ?? own[0];
  // A pod that has finished (a completed Job's) holds no volume, though its spec still names the claim.
  const volumeUsers = pods.filter((p) => p !== pod && !own.includes(p) && p.phase !== 'Succeeded' && p.phase !== 'Failed' &&
    (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim))
    .map((p) => p.metadata.name);
  const apps = appsOf(await cluster.listWorkloads(ns), workload, appSelector);
  const sc = workload.template.spec.securityContext;
  return {
    namespace: ns, namespaceLabels: labels, workload, container, pod, flavour, layoutEvidence, image, pgdata, port: portOf(container),
    mountPath: mount.mountPath, pvc,
    csiDriver: pvc.storageClassName ? await cluster.storageClassProvisioner(pvc.storageClassName) : undefined,
    superuser: superuserOf(container, flavour), fsGroup: sc?.fsGroup, managers: managersOf(workload), volumeUsers, apps,
    podsByIp: Object.fromEntries(pods.filter((p) => p.podIP).map((p) => [p.podIP as string, p.metadata.name])),
  };
}
