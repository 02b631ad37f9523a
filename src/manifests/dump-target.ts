import type { Container } from '../k8s/pod-spec.ts';
import type { KObject, Pvc, Workload } from '../k8s/cluster.ts';
import { selectorMatches } from '../postgres/dump-identity.ts';
import { targetLayoutFor, type TargetLayout, type TargetSuperuser } from '../postgres/target-layout.ts';
import type { Flavour } from '../postgres/workload.ts';
import { dumpTargetLabels, instanceSelector, targetPodSpec, targetWorkload } from './dump-target-pod.ts';
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
  assertNoServiceClash(spec.serviceSelectors, labels);
  const meta = targetMeta(spec, labels);
  const claim = `data-${name}`;
  const pvc = targetPvc(spec, meta(claim));
  const service = targetService(meta(name), name);
  const template = { metadata: { labels }, spec: targetPodSpec(spec, layout, claim) };
  const workload = targetWorkload(src.kind, meta(name), name, template);
  return { name, layout, pvc, service, workload, cutoverSelector: instanceSelector(name) };
}

/** Throws when a Service that leads to the source would select the new instance's pods (`labels`) too. */
function assertNoServiceClash(selectors: DumpTargetSpec['serviceSelectors'], labels: Record<string, string>): void {
  const clash = (selectors ?? []).find((s) => selectorMatches(s, labels));
  if (clash)
    throw new Error(
      `a Service that leads to the source selects ${JSON.stringify(clash)}, which the new instance's pods would match`,
    );
}

/** The metadata of the new instance's objects, by name: the plugin's labels, the source and the major noted. */
function targetMeta(spec: DumpTargetSpec, labels: Record<string, string>) {
  const src = spec.source.workload;
  return (n: string) => ({
    name: n,
    namespace: spec.namespace,
    labels,
    annotations: {
      'pgupgrade.kubectl.io/source': `${src.kind}/${src.metadata.name}`,
      'pgupgrade.kubectl.io/major': String(spec.major),
    },
  });
}

/** The new instance's data PVC: one writer, --storage-class else the source PVC's class, targetSize. */
function targetPvc(spec: DumpTargetSpec, metadata: KObject['metadata']): KObject {
  const storageClass = spec.storageClass ?? spec.source.pvc?.storageClassName;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata,
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClass ? { storageClassName: storageClass } : {}),
      resources: { requests: { storage: targetSize(spec) } },
    },
  };
}

/** The new instance's own Service, on its pods' port 5432: the address the load writes to. */
function targetService(metadata: KObject['metadata'], name: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: { selector: instanceSelector(name), ports: [{ name: 'tcp-postgresql', port: 5432, targetPort: 5432 }] },
  };
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
