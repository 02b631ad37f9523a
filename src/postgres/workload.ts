import type { Container } from '../k8s/pod-spec.ts';
import type { Workload } from '../k8s/cluster.ts';
import { parseImageRef } from './images.ts';

/** The layout of the database's image (judged from the pod, layout.ts); it decides paths, users and defaults. */
export type Flavour = 'official' | 'bitnami' | 'vendor';

/** `sts/x`, `statefulset/x`, `deploy/x`, `deployment/x` or a bare name. */
export function parseWorkloadRef(arg: string): { kind?: Workload['kind']; name: string } {
  const slash = arg.indexOf('/');
  if (slash < 0) return { name: arg };
  const kind = arg.slice(0, slash).toLowerCase();
  const name = arg.slice(slash + 1);
  if (['sts', 'statefulset', 'statefulsets'].includes(kind)) return { kind: 'StatefulSet', name };
  if (['deploy', 'deployment', 'deployments'].includes(kind)) return { kind: 'Deployment', name };
  throw new Error(`"${arg}" is not a workload: use sts/<name>, deploy/<name> or a bare name`);
}

/**
 * The image family that an image reference names, for the official and Bitnami repositories only: a vendor's
 * repository (CircleCI's, Devtron's) says nothing, and its layout is judged from the pod (layout.ts).
 */
export function flavourOf(image: string): Flavour {
  const { repo } = parseImageRef(image);
  if (repo === 'postgres') return 'official';
  if (repo.endsWith('bitnami/postgresql') || repo.endsWith('bitnamilegacy/postgresql')) return 'bitnami';
  return 'vendor';
}

/** Is this image PostgreSQL's own (server or client), not an upgrade image, exporter or pooler? */
export const isPostgresImage = (image?: string): boolean =>
  !!image && /postgres/i.test(parseImageRef(image).repo) && !/postgres-upgrade|exporter|pgbouncer/i.test(image);

/** Does a workload look like a PostgreSQL server (image or the chart's label), and not one of ours? */
export function isPostgresWorkload(w: Workload): boolean {
  if (w.metadata.labels?.['app.kubernetes.io/managed-by'] === 'kubectl-pgupgrade') return false;
  if (w.metadata.labels?.['app.kubernetes.io/name'] === 'postgresql') return true;
  return w.template.spec.containers.some((c) => isPostgresImage(c.image));
}

/** The database container: the one with a PostgreSQL image, else the first. */
export function databaseContainer(w: Workload): Container {
  const c = w.template.spec.containers.find((x) => isPostgresImage(x.image)) ?? w.template.spec.containers[0];
  if (!c) throw new Error(`${w.kind} ${w.metadata.name} has no containers`);
  return c;
}

/** The major that an image tag names, e.g. 13 for `postgres:13.4` or `bitnami/postgresql:13.0.0-debian-12-r0`. */
export function tagMajor(image: string): number | undefined {
  const m = /^(\d+)/.exec(parseImageRef(image).tag ?? '');
  return m ? Number(m[1]) : undefined;
}

const envValue = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;

/** The official image's data directory and volume up to 17 (from 18: /var/lib/postgresql/<major>/docker). */
export const OFFICIAL_DATA_DIR = '/var/lib/postgresql/data';

/** Whether the container mounts a volume at `path` (a trailing slash aside). */
export function mountsAt(c: Container, path: string): boolean {
  return (c.volumeMounts ?? []).some((m) => m.mountPath.replace(/\/+$/, '') === path);
}

/** PGDATA: from env, else the image family's default. */
export function pgdataOf(c: Container, flavour: Flavour, major?: number): string {
  const fromEnv = envValue(c, 'PGDATA') ?? envValue(c, 'POSTGRESQL_DATA_DIR');
  if (fromEnv) return fromEnv;
  if (flavour === 'bitnami') return '/bitnami/postgresql/data';
  return major !== undefined && major >= 18 ? `/var/lib/postgresql/${major}/docker` : OFFICIAL_DATA_DIR;
}

/** The PostgreSQL port: PGPORT or Bitnami's variable, else 5432. */
export function portOf(c: Container): number {
  return Number(envValue(c, 'POSTGRESQL_PORT_NUMBER') ?? envValue(c, 'PGPORT') ?? 5432);
}

/** The volume that holds PGDATA: the mount whose path is the longest prefix of it. */
export function dataMountOf(c: Container, pgdata: string): { volume: string; mountPath: string } | undefined {
  const mounts = (c.volumeMounts ?? []).filter(
    (m) => pgdata === m.mountPath || pgdata.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
  );
  mounts.sort((a, b) => b.mountPath.length - a.mountPath.length);
  const m = mounts[0];
  return m ? { volume: m.name, mountPath: m.mountPath } : undefined;
}

/** The PVC behind a volume of the workload: a claim template (ordinal 0) or a named claim. */
export function claimNameOf(w: Workload, volume: string): string | undefined {
  if (w.kind === 'StatefulSet' && w.volumeClaimTemplates.includes(volume)) return `${volume}-${w.metadata.name}-0`;
  return w.template.spec.volumes?.find((v) => v.name === volume)?.persistentVolumeClaim?.claimName;
}

/** `sts/<name>` or `deploy/<name>`, as a user types it after kubectl. */
export function refOf(w: { kind: string; name: string }): string {
  return `${w.kind === 'StatefulSet' ? 'sts' : 'deploy'}/${w.name}`;
}

/** Tools that would put an image patch back: Helm, Argo CD, Flux. */
export function managersOf(w: Workload): string[] {
  const l = w.metadata.labels ?? {};
  const a = w.metadata.annotations ?? {};
  const out: string[] = [];
  if (l['app.kubernetes.io/managed-by'] === 'Helm' || a['meta.helm.sh/release-name']) {
    out.push(`Helm release ${a['meta.helm.sh/release-name'] ?? l['app.kubernetes.io/instance'] ?? '(unnamed)'}`);
  }
  if (l['argocd.argoproj.io/instance'] || a['argocd.argoproj.io/tracking-id']) {
    out.push(
      `Argo CD application ${l['argocd.argoproj.io/instance'] ?? a['argocd.argoproj.io/tracking-id']?.split(':')[0]}`,
    );
  }
  const flux = l['kustomize.toolkit.fluxcd.io/name'] ?? l['helm.toolkit.fluxcd.io/name'];
  if (flux) out.push(`Flux ${l['kustomize.toolkit.fluxcd.io/name'] ? 'Kustomization' : 'HelmRelease'} ${flux}`);
  return out;
}

/**
 * Why an in-place upgrade cannot take this workload as it is: a StatefulSet of several replicas has a PVC per
 * pod, and only `…-0`'s would be upgraded while the others would start the new major on old data.
 */
export function multiReplicaProblem(w: Workload, ns: string): string | undefined {
  if (w.kind !== 'StatefulSet' || w.replicas <= 1) return undefined;
  return (
    `StatefulSet ${ns}/${w.metadata.name} has ${w.replicas} replicas, each with its own PVC; an in-place upgrade upgrades one data ` +
    `directory (pod ${w.metadata.name}-0's), and the other pods would start the new major on old data. Scale it to 1 ` +
    `(kubectl -n ${ns} scale sts/${w.metadata.name} --replicas=1), upgrade, then rebuild the replicas from the primary; nothing was changed`
  );
}

/**
 * The Helm values that keep the new image: the image block the Bitnami chart reads, nested under the chart's name
 * when the database is a subchart of another release (CircleCI Server's `postgresql:`), else at the top. Helm would
 * put the old image back on the next `helm upgrade` otherwise. Undefined for a workload that Helm does not manage.
 */
export function helmImageValues(w: Workload, image: string): string | undefined {
  const ref = parseImageRef(image);
  const l = w.metadata.labels ?? {};
  const a = w.metadata.annotations ?? {};
  if (l['app.kubernetes.io/managed-by'] !== 'Helm' && !a['meta.helm.sh/release-name']) return undefined;
  const release = a['meta.helm.sh/release-name'] ?? l['app.kubernetes.io/instance'];
  const chart = l['app.kubernetes.io/name'] ?? l['helm.sh/chart']?.replace(/-\d[\w.+-]*$/, '');
  const block = [
    'image:',
    `  registry: ${ref.registry ?? 'docker.io'}`,
    `  repository: ${ref.repo}`,
    `  tag: ${ref.tag ?? 'latest'}`,
  ];
  const nested = chart && release && chart !== release ? [`${chart}:`, ...block.map((x) => `  ${x}`)] : block;
  // Bitnami's charts refuse an image they did not ship (bitnamilegacy/ included) unless this global says yes.
  const legacy =
    ref.repo === 'bitnamilegacy/postgresql' ? ['global:', '  security:', '    allowInsecureImages: true'] : [];
  return `# values.yaml of Helm release ${release ?? '(unnamed)'}: keeps ${image}\n${[...nested, ...legacy].join('\n')}`;
}

/** A server that refuses its data: the image runs a newer major than the one that wrote the data directory. */
export interface Incompatible {
  /** The major that initialized the data directory (PG_VERSION). */
  dataMajor: number;
  /** The major that the image runs. */
  serverMajor: number;
  /** The server's own lines, to quote. */
  lines: string;
}

/**
 * Reads PostgreSQL's refusal to start on another major's data from a container log: "FATAL: database files are
 * incompatible with server", "DETAIL: The data directory was initialized by PostgreSQL version 15, which is not
 * compatible with this version 17.2." Undefined for any other log, and for an older server (a downgrade).
 */
export function parseIncompatible(log: string): Incompatible | undefined {
  const m =
    /database files are incompatible with server[^\n]*\n[^\n]*initialized by PostgreSQL version (\d+)(?:\.\d+)?, which is not compatible with this version (\d+)(?:\.\d+)*[^\n]*/.exec(
      log,
    );
  if (!m) return undefined;
  const dataMajor = Number(m[1]);
  const serverMajor = Number(m[2]);
  if (!(dataMajor >= 10 && serverMajor > dataMajor)) return undefined;
  return {
    dataMajor,
    serverMajor,
    lines: m[0]
      .split('\n')
      .map((l) => l.trim())
      .join(' '),
  };
}
