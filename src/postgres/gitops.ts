/**
 * Who manages a workload, read from its metadata only: Helm, Argo CD and Flux by their labels and annotations, and any
 * other field manager of spec.replicas or a container's image (managedFields). Argo CD and Flux heal drift: they
 * would scale a stopped database back up or put the old image back while the plugin has it down. Pure.
 */

/** The metadata fields this module reads (a Workload's metadata, with managedFields as the apiserver sends them). */
export interface ManagedMeta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  managedFields?: Array<{ manager?: string; operation?: string; subresource?: string; fieldsV1?: unknown }>;
}

/** A workload (the database or one of its applications) as this module sees it. */
export interface ManagedObject {
  /** A Service: one that the dump's cutover points at the new instance (a controller would point it back). */
  kind: 'StatefulSet' | 'Deployment' | 'Service';
  metadata: ManagedMeta;
}

/** One manager of one object. `heals`: it would undo a scale-down or an image patch by itself. */
export interface Manager {
  tool: 'Helm' | 'Argo CD' | 'Flux' | 'field manager';
  /** Its own object: `Application circle`, `Kustomization apps`, `HelmRelease db`, `release db`, `manager hpa-ish`. */
  what: string;
  name: string;
  namespace?: string;
  heals: boolean;
  /** The workload it manages, as `StatefulSet pg`. */
  object: string;
  /** What gave it away: a label, an annotation, a managed field. */
  evidence: string;
}

/** Field managers that are the user's own tools or the cluster's, never a reconciler that heals. */
const HARMLESS = /^(kubectl|kubectl-.*|pgupgrade|kubectl-pgupgrade|helm|kube-controller-manager|node-fetch|unknown)$/i;
/** Field managers of Argo CD's and Flux's controllers. */
const ARGO = /^argocd(-application-controller|-controller)?$/i;
const FLUX = /^(kustomize-controller|helm-controller)$/i;

const objectOf = (o: ManagedObject) => `${o.kind} ${o.metadata.name}`;

/** The field managers that own spec.replicas or a container's image of the object (the scale subresource included). */
export function replicaOrImageManagers(meta: ManagedMeta): string[] {
  const out = new Set<string>();
  for (const mf of meta.managedFields ?? []) {
    const spec = (mf.fieldsV1 as Record<string, any> | undefined)?.['f:spec'];
    const containers = spec?.['f:template']?.['f:spec']?.['f:containers'] ?? {};
    const image = Object.values(containers as Record<string, any>).some(
      (c) => c && typeof c === 'object' && 'f:image' in c,
    );
    if (mf.manager && spec && ('f:replicas' in spec || image)) out.add(mf.manager);
  }
  return [...out];
}

function helmOf(o: ManagedObject): Manager[] {
  const l = o.metadata.labels ?? {};
  const a = o.metadata.annotations ?? {};
  if (l['app.kubernetes.io/managed-by'] !== 'Helm' && !a['meta.helm.sh/release-name']) return [];
  const name = a['meta.helm.sh/release-name'] ?? l['app.kubernetes.io/instance'] ?? '(unnamed)';
  const ns = a['meta.helm.sh/release-namespace'];
  return [
    {
      tool: 'Helm',
      what: `release ${name}`,
      name,
      ...(ns ? { namespace: ns } : {}),
      heals: false,
      object: objectOf(o),
      evidence: a['meta.helm.sh/release-name']
        ? 'annotation meta.helm.sh/release-name'
        : 'label app.kubernetes.io/managed-by=Helm',
    },
  ];
}

/** Argo CD: the tracking-id annotation (`<app>:<group>/<kind>:<ns>/<name>`, the app possibly `<ns>_<app>`), or its instance labels. */
function argoOf(o: ManagedObject, managers: string[]): Manager[] {
  const l = o.metadata.labels ?? {};
  const tracking = o.metadata.annotations?.['argocd.argoproj.io/tracking-id'];
  const argoManager = managers.find((m) => ARGO.test(m));
  const instance = l['argocd.argoproj.io/instance'] ?? (argoManager ? l['app.kubernetes.io/instance'] : undefined);
  const app = tracking?.split(':')[0] ?? instance;
  if (!app) return [];
  const [appNs, appName] = app.includes('_')
    ? [app.split('_')[0], app.split('_').slice(1).join('_')]
    : [undefined, app];
  const evidence = tracking
    ? 'annotation argocd.argoproj.io/tracking-id'
    : l['argocd.argoproj.io/instance']
      ? 'label argocd.argoproj.io/instance'
      : `label app.kubernetes.io/instance with field manager ${argoManager}`;
  return [
    {
      tool: 'Argo CD',
      what: `Application ${appName}`,
      name: appName as string,
      ...(appNs ? { namespace: appNs } : {}),
      heals: true,
      object: objectOf(o),
      evidence,
    },
  ];
}

function fluxOf(o: ManagedObject): Manager[] {
  const l = o.metadata.labels ?? {};
  const out: Manager[] = [];
  for (const [group, what] of [
    ['kustomize', 'Kustomization'],
    ['helm', 'HelmRelease'],
  ] as const) {
    const name = l[`${group}.toolkit.fluxcd.io/name`];
    const ns = l[`${group}.toolkit.fluxcd.io/namespace`];
    if (name)
      out.push({
        tool: 'Flux',
        what: `${what} ${name}`,
        name,
        ...(ns ? { namespace: ns } : {}),
        heals: true,
        object: objectOf(o),
        evidence: `label ${group}.toolkit.fluxcd.io/name`,
      });
  }
  return out;
}

/** Field managers of replicas or image that are neither the user's tools nor already named by a marker (an HPA, an operator, a script). */
function othersOf(o: ManagedObject, managers: string[], named: Manager[]): Manager[] {
  const known = (m: string) =>
    HARMLESS.test(m) ||
    (ARGO.test(m) && named.some((n) => n.tool === 'Argo CD')) ||
    (FLUX.test(m) && named.some((n) => n.tool === 'Flux'));
  return managers
    .filter((m) => !known(m))
    .map((m) => ({
      tool: 'field manager' as const,
      what: `field manager ${m}`,
      name: m,
      heals: ARGO.test(m) || FLUX.test(m),
      object: objectOf(o),
      evidence: 'managedFields of spec.replicas or the image',
    }));
}

/** Every manager of one object. */
export function managersOfObject(o: ManagedObject): Manager[] {
  const fields = replicaOrImageManagers(o.metadata);
  const named = [...helmOf(o), ...argoOf(o, fields), ...fluxOf(o)];
  return [...named, ...othersOf(o, fields, named)];
}

/** The managers of the database and its applications, each object's own. */
export function managersOfAll(objects: ManagedObject[]): Manager[] {
  return objects.flatMap(managersOfObject);
}
