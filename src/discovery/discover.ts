import type { Cluster, Pod, Pvc, Workload } from '../k8s/cluster.ts';
import type { Container } from '../k8s/pod-spec.ts';
import { usageError } from '../exit-codes.ts';
import { labelsMatch } from '../k8s/selector.ts';
import { superuserOf, type SuperuserSource } from '../postgres/credentials.ts';
import { appUserOf } from './credentials.ts';
import type { ImageClient } from './clients.ts';
import { databaseContainer, managersOf, pgdataOf, portOf, tagMajor, type Flavour } from '../postgres/workload.ts';
import { judgeLayout } from '../postgres/layout.ts';
import { sourceVolume } from './data-volume.ts';
import { appsOf, findWorkload } from './find-workload.ts';

/** What check found before asking the database anything, whatever keeps the data. */
interface Found {
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
  csiDriver?: string;
  superuser?: SuperuserSource;
  /** --superuser-secret: the Secret and key that hold the superuser's password, named by the user. */
  superuserSecret?: { name: string; key: string };
  /**
   * The dump method reads a password written in the manifest (anyone who can read the workload reads it too) to
   * connect; it never writes it anywhere. Elsewhere such a password is refused (readSuperuser).
   */
  readsInlinePassword?: boolean;
  fsGroup?: number;
  managers: string[];
  /** Other pods that mount the data PVC. */
  volumeUsers: string[];
  apps: Workload[];
  /** Workloads, CronJobs and Jobs that run a PostgreSQL image as clients, each with why it is not the database. */
  clients: ImageClient[];
  /** Pod IP → pod name, to say who holds the connections. */
  podsByIp: Record<string, string>;
}

/** A server whose data is on a PersistentVolumeClaim mounted at PGDATA: what an upgrade in place needs. */
export interface Discovery extends Found {
  mountPath: string;
  pvc: Pvc;
}

/**
 * A source of `--method dump`, which only reads the running server: its data may be on a PVC, or in the container's
 * writable layer (no volume at PGDATA: `pvc` and `mountPath` absent; lost when the container goes).
 */
export interface SourceDiscovery extends Found {
  mountPath?: string;
  pvc?: Pvc;
}

/** Whether discovery requires a PVC at PGDATA (in place), or takes a source without a volume (the dump method). */
export interface DiscoverOptions {
  superuserSecret?: { name: string; key: string };
  /** 'optional': no volume at PGDATA is taken, not refused (the dump method reads the server and leaves its data alone). */
  volume?: 'required' | 'optional';
  /** 'read': a password written in the manifest is read to connect (the dump method), not refused. */
  inlinePassword?: 'refuse' | 'read';
}

/** How the dump method discovers its source: with or without a volume, its password wherever the pod spec has it. */
export const DUMP_SOURCE = { volume: 'optional', inlinePassword: 'read' } as const;

/** The source's data PVC; exit 2 where it has none (a step that needs the volume: the probe pod of a stopped database). */
export function requireVolume(d: SourceDiscovery, why: string): Discovery {
  if (d.pvc && d.mountPath !== undefined) return d as Discovery;
  throw usageError(
    `${d.workload.kind} ${d.namespace}/${d.workload.metadata.name}: no volume is mounted at PGDATA ${d.pgdata} (its data lives in the ` +
      `container's writable layer), so ${why}`,
  );
}

/** What holds the data, for a task's title: the PVC, or the container's writable layer. */
export function volumeNote(d: SourceDiscovery): string {
  return d.pvc ? `PVC ${d.pvc.metadata.name}` : "no volume (the data is in the container's writable layer)";
}

/**
 * Discovery: the workload, its pod, volume, Secret, and what surrounds it. Without a volume at PGDATA it refuses
 * (exit 2, naming --method dump), unless `volume: 'optional'`.
 */
export async function discover(
  cluster: Cluster,
  ns: string,
  ref: string | undefined,
  appSelector: Record<string, string>,
  opts?: DiscoverOptions & { volume?: 'required' },
): Promise<Discovery>;
export async function discover(
  cluster: Cluster,
  ns: string,
  ref: string | undefined,
  appSelector: Record<string, string>,
  opts: DiscoverOptions,
): Promise<SourceDiscovery>;
export async function discover(
  cluster: Cluster,
  ns: string,
  ref: string | undefined,
  appSelector: Record<string, string>,
  opts: DiscoverOptions = {},
): Promise<SourceDiscovery> {
  const labels = await namespaceLabelsOf(cluster, ns);
  const { workload, clients } = await findWorkload(cluster, ns, ref);
  const container = databaseContainer(workload);
  const image = container.image ?? '';
  const { flavour, evidence: layoutEvidence } = judgeLayout(container, workload.template.spec);
  const pgdata = pgdataOf(container, flavour, tagMajor(image));
  const volume = await sourceVolume(cluster, ns, workload, container, pgdata, opts.volume === 'optional');
  const pods = await cluster.listPods(ns);
  const own = pods.filter((p) => labelsMatch(p.metadata.labels, workload.selector, workload.matchExpressions));
  const pod = own.find((p) => p.ready) ?? own.find((p) => p.phase === 'Running') ?? own[0];
  const apps = appsOf(await cluster.listWorkloads(ns), workload, appSelector);
  const sc = workload.template.spec.securityContext;
  return {
    namespace: ns,
    namespaceLabels: labels,
    workload,
    container,
    pod,
    flavour,
    layoutEvidence,
    image,
    pgdata,
    port: portOf(container),
    ...volume,
    csiDriver: volume?.pvc.storageClassName
      ? await cluster.storageClassProvisioner(volume.pvc.storageClassName)
      : undefined,
    superuser: superuserOf(
      workload.template.spec,
      container,
      flavour,
      await appUserOf(cluster, ns, workload.template.spec, container, flavour),
    ),
    superuserSecret: opts.superuserSecret,
    readsInlinePassword: opts.inlinePassword === 'read',
    fsGroup: sc?.fsGroup,
    managers: managersOf(workload),
    volumeUsers: volumeUsersOf(pods, own, pod, volume?.pvc.metadata.name),
    apps,
    clients,
    podsByIp: Object.fromEntries(pods.filter((p) => p.podIP).map((p) => [p.podIP as string, p.metadata.name])),
  };
}

/** The namespace's labels (for its Pod Security level); exit 2 when it does not exist. */
async function namespaceLabelsOf(cluster: Cluster, ns: string): Promise<Record<string, string>> {
  const labels = await cluster.namespaceLabels(ns).catch((err: { code?: number }) => {
    if (err.code === 403) return {} as Record<string, string>; // not allowed to read namespaces: Pod Security level unknown
    throw err;
  });
  if (!labels) throw usageError(`namespace ${ns} not found in context ${cluster.contextName}; pass -n <namespace>`);
  return labels;
}

/** The other pods that mount the data claim while they run. */
function volumeUsersOf(pods: Pod[], own: Pod[], pod: Pod | undefined, claim: string | undefined): string[] {
  // A pod that has finished (a completed Job's) holds no volume, though its spec still names the claim.
  return pods
    .filter(
      (p) =>
        claim &&
        p !== pod &&
        !own.includes(p) &&
        p.phase !== 'Succeeded' &&
        p.phase !== 'Failed' &&
        (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim),
    )
    .map((p) => p.metadata.name);
}
