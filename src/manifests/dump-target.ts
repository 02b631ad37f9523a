import type { Container, KObject, Pvc, Workload } from '../k8s/cluster.ts';
import { selectorMatches } from '../postgres/dump-identity.ts';
import {
  isSameFamily,
  targetEnv,
  targetLayoutFor,
  type TargetLayout,
  type TargetSuperuser,
} from '../postgres/target-layout.ts';
import type { Flavour } from '../postgres/workload.ts';
import { OWNED_LABELS } from './probe-pod.ts';
import { parseQuantity } from '../k8s/quantity.ts';
import { SUPERUSER_SECRET_KEY, superuserSecretName } from '../postgres/dump-source.ts';

/**
 * The dump method's new instance: a workload of the source's kind with the target image, named with a version
 * suffix, on a PVC of its own, with the source's superuser Secret, resources and placement, in the target image
 * family's layout (target-layout.ts), one replica, Pod Security `restricted`. Its pods carry only the plugin's
 * labels, so that the source's Service does not send them traffic before the cutover, which points the Service's
 * selector at `cutoverSelector`.
 */
export interface DumpTargetSpec {
  namespace: string;
  source: { workload: Workload; container: Container; flavour: Flavour; pvc?: Pvc };
  major: number;
  image: string;
  superuser: TargetSuperuser;
  /** --storage-class; the source PVC's class by default (none: the cluster's default class). */
  storageClass?: string;
  /** --size; the source PVC's capacity by default, else the data's size with head room. */
  size?: string;
  /** The data's size in bytes (pg_database_size summed), for a source without a volume. */
  dataBytes?: number;
  /** Roles with md5 password hashes come over (check's `passwords`): pg_hba must accept md5 (targetLayoutFor). */
  md5Logins?: boolean;
  /** The source's default encoding and locale as initdb options (targetLayoutFor). */
  initdbArgs?: string[];
  /** The selectors of the Services that lead to the source: the new pods must match none of them. */
  serviceSelectors?: Array<Record<string, string> | undefined>;
}

/** The objects to create, in order, and what the cutover needs. */
export interface DumpTarget {
  name: string;
  layout: TargetLayout;
  pvc: KObject;
  service: KObject;
  workload: KObject;
  /** The selector that the source's Service takes at cutover (the old one is recorded for rollback). */
  cutoverSelector: Record<string, string>;
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const INSTANCE = 'pgupgrade.kubectl.io/instance';

/**
 * `<name>-v<major>`, an earlier suffix replaced (`postgres-v14` → `postgres-v15`), shortened to fit: a
 * StatefulSet's name goes into its pods' controller-revision-hash label with an 11-character hash (63 - 11 = 52);
 * a Deployment's into a label value (63).
 */
export function dumpTargetName(source: string, major: number, kind: Workload['kind']): string {
  const name = (suffix: string) => {
    const max = (kind === 'StatefulSet' ? 52 : 63) - suffix.length;
    return `${source
      .replace(/-v\d+$/, '')
      .slice(0, max)
      .replace(/[-.]+$/, '')}${suffix}`;
  };
  // A source already named for the new major (`db-v15` on 14, to 15) would get its own name: never the source.
  const plain = name(`-v${major}`);
  return plain === source ? name(`-v${major}-new`) : plain;
}

/** A byte count as a quantity: whole GiB when it is one, else MiB rounded up. */
export function bytesQuantity(bytes: number): string {
  return bytes % GiB === 0 ? `${bytes / GiB}Gi` : `${Math.ceil(bytes / MiB)}Mi`;
}

/**
 * The new PVC's size: --size, else the source PVC's capacity, else the data's size × 1.5 + 1 GiB in whole GiB
 * (indexes are rebuilt to their size; the head room is for growth and the load's WAL). Throws when nothing tells.
 */
export function targetSize(spec: Pick<DumpTargetSpec, 'size' | 'source' | 'dataBytes'>): string {
  if (spec.size) return spec.size;
  const capacity = spec.source.pvc?.capacityBytes;
  if (capacity) return bytesQuantity(capacity);
  if (spec.dataBytes !== undefined) return `${Math.ceil((spec.dataBytes * 1.5 + GiB) / GiB)}Gi`;
  throw new Error(
    `${spec.source.workload.kind} ${spec.source.workload.metadata.name} has no data volume and its data size is unknown: give --size`,
  );
}

/** Why --size may not be the new PVC's size (smaller than the source PVC's request), or undefined. Pure. */
export function targetSizeProblem(size: string | undefined, source: Pvc | undefined, ns: string): string | undefined {
  if (size === undefined || !source?.requestBytes || parseQuantity(size) >= source.requestBytes) return undefined;
  const want = bytesQuantity(source.requestBytes);
  return (
    `--size ${size} is smaller than the ${want} that the source PVC ${ns}/${source.metadata.name} requests: the new instance might not hold ` +
    `what the old one does; give --size ${want} or more, or leave --size out (the source PVC's size); nothing was changed`
  );
}

/** The labels of the new instance's pods: the plugin's own, none of the source's. */
export function dumpTargetLabels(name: string): Record<string, string> {
  return { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'dump-target', [INSTANCE]: name };
}

/** The database container of the new instance: the family's env, data mount and probes, the source's resources. */
function targetContainer(spec: DumpTargetSpec, layout: TargetLayout): object {
  const c = spec.source.container;
  const probe = (period: number, failures: number) => ({
    exec: { command: layout.probeCommand },
    periodSeconds: period,
    timeoutSeconds: 5,
    failureThreshold: failures,
  });
  return {
    name: c.name,
    image: spec.image,
    env: targetEnv(c, spec.source.flavour, layout),
    // The same family reads the same variables: the source's envFrom (settings, or its Secret) still means what it meant.
    ...(isSameFamily(spec.source.flavour, layout.family) && c.envFrom ? { envFrom: c.envFrom } : {}),
    // The source's port name: a Service whose targetPort is a name finds the new pods by it after the cutover.
    ports: [{ name: c.ports?.[0]?.name ?? 'tcp-postgresql', containerPort: 5432 }],
    ...(c.resources ? { resources: c.resources } : {}),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      runAsNonRoot: true,
      runAsUser: layout.uid,
      runAsGroup: layout.gid,
    },
    volumeMounts: [{ name: 'data', mountPath: layout.mountPath }],
    startupProbe: probe(2, 900),
    readinessProbe: probe(5, 3),
    livenessProbe: probe(10, 6),
  };
}

/** The new instance: its PVC, a Service of its own (the load's address), and the workload, as objects to create. */
export function buildDumpTarget(spec: DumpTargetSpec): DumpTarget {
  const src = spec.source.workload;
  const name = dumpTargetName(src.metadata.name, spec.major, src.kind);
  const layout = targetLayoutFor(
    spec.image,
    spec.source.flavour,
    spec.major,
    spec.superuser,
    spec.md5Logins,
    spec.initdbArgs,
  );
  const labels = dumpTargetLabels(name);
  const clash = (spec.serviceSelectors ?? []).find((s) => selectorMatches(s, labels));
  if (clash)
    throw new Error(
      `a Service that leads to the source selects ${JSON.stringify(clash)}, which the new instance's pods would match`,
    );
  const meta = (n: string) => ({
    name: n,
    namespace: spec.namespace,
    labels,
    annotations: {
      'pgupgrade.kubectl.io/source': `${src.kind}/${src.metadata.name}`,
      'pgupgrade.kubectl.io/major': String(spec.major),
    },
  });
  const claim = `data-${name}`;
  const storageClass = spec.storageClass ?? spec.source.pvc?.storageClassName;
  const pvc: KObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(claim),
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClass ? { storageClassName: storageClass } : {}),
      resources: { requests: { storage: targetSize(spec) } },
    },
  };
  const service: KObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(name),
    spec: { selector: { [INSTANCE]: name }, ports: [{ name: 'tcp-postgresql', port: 5432, targetPort: 5432 }] },
  };
  const s = src.template.spec;
  const podSpec = {
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: 30,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: layout.uid,
      runAsGroup: layout.gid,
      fsGroup: layout.gid,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(s.imagePullSecrets ? { imagePullSecrets: s.imagePullSecrets } : {}),
    ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
    ...(s.tolerations ? { tolerations: s.tolerations } : {}),
    ...(s.affinity ? { affinity: s.affinity } : {}),
    containers: [targetContainer(spec, layout)],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
  };
  const template = { metadata: { labels }, spec: podSpec };
  const common = { replicas: 1, selector: { matchLabels: { [INSTANCE]: name } }, template };
  const workload: KObject =
    src.kind === 'StatefulSet'
      ? { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta(name), spec: { ...common, serviceName: name } }
      : {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: meta(name),
          spec: { ...common, strategy: { type: 'Recreate' } },
        };
  return { name, layout, pvc, service, workload, cutoverSelector: instanceSelector(name) };
}

/**
 * The Secret of the new instance's superuser where the source had its password written in its manifest (never
 * copied into a manifest): `<target>-superuser`, key SUPERUSER_SECRET_KEY, with the plugin's labels. Without
 * `password` it is the object as --dry-run shows it, with no data.
 */
export function dumpTargetSecret(namespace: string, target: string, source: string, password?: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: superuserSecretName(target),
      namespace,
      labels: dumpTargetLabels(target),
      annotations: { 'pgupgrade.kubectl.io/source': source },
    },
    ...(password === undefined
      ? {}
      : { type: 'Opaque', data: { [SUPERUSER_SECRET_KEY]: Buffer.from(password).toString('base64') } }),
  };
}

/** The selector of the pods of a new instance the plugin made: what its cutover points the Services at. */
export function instanceSelector(name: string): Record<string, string> {
  return { [INSTANCE]: name };
}
