import type { Cluster, Container, Pod, Pvc, Workload } from '../k8s/cluster.ts';
import { usageError } from '../exit-codes.ts';
import { labelsMatch } from '../k8s/selector.ts';
import { superuserOf, type SuperuserSource } from '../postgres/credentials.ts';
import { appUserOf } from './credentials.ts';
import { describeClients, listJobClients, partWorkloads, type ImageClient } from './clients.ts';
import {
  claimNameOf,
  databaseContainer,
  dataMountOf,
  isPostgresWorkload,
  managersOf,
  mountsAt,
  OFFICIAL_DATA_DIR,
  parseWorkloadRef,
  pgdataOf,
  portOf,
  refOf,
  tagMajor,
  type Flavour,
} from '../postgres/workload.ts';
import { judgeLayout } from '../postgres/layout.ts';

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
  const labels = await cluster.namespaceLabels(ns).catch((err: { code?: number }) => {
    if (err.code === 403) return {} as Record<string, string>; // not allowed to read namespaces: Pod Security level unknown
    throw err;
  });
  if (!labels) throw usageError(`namespace ${ns} not found in context ${cluster.contextName}; pass -n <namespace>`);
  const { workload, clients } = await findWorkload(cluster, ns, ref);
  const container = databaseContainer(workload);
  const image = container.image ?? '';
  const { flavour, evidence: layoutEvidence } = judgeLayout(container, workload.template.spec);
  const pgdata = pgdataOf(container, flavour, tagMajor(image));
  const mount = dataMountOf(container, pgdata);
  const where = `${workload.kind} ${ns}/${workload.metadata.name}`;
  if (!mount && opts.volume !== 'optional') {
    throw usageError(
      movedTo18Advice(container, workload, ns, pgdata) ??
        `${where}: no volume is mounted at PGDATA ${pgdata}; the data lives in the container's writable layer and would not survive a restart, ` +
          'so there is nothing to upgrade in place. Move it into a new instance with a PVC: --method dump',
    );
  }
  const volume = mount ? await dataVolume(cluster, ns, workload, where, mount) : undefined;
  const claim = volume?.pvc.metadata.name;
  const pods = await cluster.listPods(ns);
  const own = pods.filter((p) => labelsMatch(p.metadata.labels, workload.selector, workload.matchExpressions));
  const pod = own.find((p) => p.ready) ?? own.find((p) => p.phase === 'Running') ?? own[0];
  // A pod that has finished (a completed Job's) holds no volume, though its spec still names the claim.
  const volumeUsers = pods
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
    volumeUsers,
    apps,
    clients,
    podsByIp: Object.fromEntries(pods.filter((p) => p.podIP).map((p) => [p.podIP as string, p.metadata.name])),
  };
}

/** The PVC mounted at PGDATA; exit 2 when the volume there is not a claim, or the claim does not exist. */
async function dataVolume(
  cluster: Cluster,
  ns: string,
  workload: Workload,
  where: string,
  mount: { volume: string; mountPath: string },
): Promise<{ pvc: Pvc; mountPath: string }> {
  const claim = claimNameOf(workload, mount.volume);
  if (!claim)
    throw usageError(`${where}: the volume ${mount.volume} at ${mount.mountPath} is not a PersistentVolumeClaim`);
  const pvc = await cluster.getPvc(ns, claim);
  if (!pvc) throw usageError(`${where}: its data PVC ${claim} does not exist`);
  return { pvc, mountPath: mount.mountPath };
}

/**
 * The official image moved to 18 over a volume mounted at the old path (docker-library/postgres#1370): 18 looks for
 * its data in /var/lib/postgresql/18/docker and refuses to start beside the old mount. The way out, in words.
 */
function movedTo18Advice(c: Container, w: Workload, ns: string, pgdata: string): string | undefined {
  if (
    !mountsAt(c, OFFICIAL_DATA_DIR) ||
    !/^\/var\/lib\/postgresql\/\d+\/docker$/.test(pgdata) ||
    c.env?.some((e) => e.name === 'PGDATA')
  )
    return undefined;
  return (
    `${w.kind} ${ns}/${w.metadata.name} runs ${c.image}, whose data directory is ${pgdata}, but its volume is mounted at /var/lib/postgresql/data, the layout up to ` +
    `PostgreSQL 17: the image was moved to a new major without the data, and the server refuses to start ("in 18+, these Docker images are ` +
    `configured to store database data in a format which is compatible with pg_ctlcluster"). Set the image back to the PostgreSQL image that made ` +
    `the data (kubectl -n ${ns} set image ${w.kind.toLowerCase()}/${w.metadata.name} ${c.name}=postgres:<its major>), then run ` +
    `kubectl pgupgrade upgrade -n ${ns} --to ${/\/(\d+)\/docker$/.exec(pgdata)?.[1]}: it moves the data into 18's layout and points the workload at it`
  );
}
