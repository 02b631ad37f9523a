import type { KubeRest } from './kube/rest.ts';

/**
 * A self-healing GitOps controller for the tests, standing in for Argo CD with selfHeal or Flux's drift correction:
 * a loop in the test process (not a real controller) that polls the Deployments and StatefulSets of one namespace
 * every 300 ms and puts back their replicas and container images to what it first saw, so within about 1 s of a
 * change. By default it heals only objects carrying Argo CD's or Flux's markers, and only while the object that the
 * marker names (an Argo CD Application, a Flux Kustomization or HelmRelease, real objects of the real CRDs; any one
 * of them, where several are named) exists and heals: Argo CD's `spec.syncPolicy.automated.selfHeal: true`, Flux's `spec.suspend` not true. While that
 * object is paused or absent, what the workload looks like becomes what it restores later, as if Git had been
 * changed meanwhile (so a resumed controller keeps an upgrade's new image): also at its first look after the resume,
 * whatever changed between its last look while paused and the resume. `hidden` heals every object, markers or
 * not, as a controller that detection cannot see. It writes as field manager `manager`, else as the controller that
 * the object's marker names would (argocd-application-controller, kustomize-controller, helm-controller).
 */
export interface Healer {
  /** The changes it undid, as `StatefulSet pg: replicas 0 → 1`. */
  healed: string[];
  stop(): Promise<void>;
}

interface Seen {
  replicas: number;
  images: Record<string, string>;
}
type Obj = {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { replicas?: number; template: { spec: { containers: Array<{ name: string; image: string }> } } };
};
type Owner = { spec?: { suspend?: boolean; syncPolicy?: { automated?: { selfHeal?: boolean; enabled?: boolean } } } };

const MARKERS = [
  'argocd.argoproj.io/tracking-id',
  'argocd.argoproj.io/instance',
  'kustomize.toolkit.fluxcd.io/name',
  'helm.toolkit.fluxcd.io/name',
];
const marked = (o: Obj) =>
  MARKERS.some((k) => o.metadata.labels?.[k] !== undefined || o.metadata.annotations?.[k] !== undefined);
const KINDS = [
  ['deployments', 'Deployment'],
  ['statefulsets', 'StatefulSet'],
] as const;

/** The API paths of the objects an object's markers name: its Argo CD Application, its Flux Kustomization or HelmRelease. */
export function ownerPaths(o: Obj, ns: string): string[] {
  const l = o.metadata.labels ?? {};
  const app =
    o.metadata.annotations?.['argocd.argoproj.io/tracking-id']?.split(':')[0] ?? l['argocd.argoproj.io/instance'];
  const out: string[] = [];
  if (app) {
    const [appNs, name] = app.includes('_')
      ? [app.slice(0, app.indexOf('_')), app.slice(app.indexOf('_') + 1)]
      : ['argocd', app];
    out.push(`/apis/argoproj.io/v1alpha1/namespaces/${appNs}/applications/${name}`);
  }
  for (const [group, path] of [
    ['kustomize', 'kustomize.toolkit.fluxcd.io/v1'],
    ['helm', 'helm.toolkit.fluxcd.io/v2'],
  ] as const) {
    const name = l[`${group}.toolkit.fluxcd.io/name`];
    const plural = group === 'helm' ? 'helmreleases' : 'kustomizations';
    if (name) out.push(`/apis/${path}/namespaces/${l[`${group}.toolkit.fluxcd.io/namespace`] ?? ns}/${plural}/${name}`);
  }
  return out;
}

/** The field manager the real controller of a marked object writes as. */
function controllerOf(o: Obj): string {
  const l = o.metadata.labels ?? {};
  return l['kustomize.toolkit.fluxcd.io/name']
    ? 'kustomize-controller'
    : l['helm.toolkit.fluxcd.io/name']
      ? 'helm-controller'
      : marked(o)
        ? 'argocd-application-controller'
        : 'gitops-healer';
}

/** Does this Application, Kustomization or HelmRelease heal drift now? */
function heals(path: string, owner: Owner | undefined): boolean {
  if (!owner) return false;
  if (path.includes('/argoproj.io/')) {
    const auto = owner.spec?.syncPolicy?.automated;
    return !!auto && auto.enabled !== false && auto.selfHeal === true;
  }
  return owner.spec?.suspend !== true;
}

/**
 * `only`: heal these objects alone (`StatefulSet/<name>`), as a controller of the database but not of its applications.
 * `armed`: heal only once it says so (it still learns the objects from the start), as a controller whose sync comes late.
 */
export function startHealer(
  rest: KubeRest,
  ns: string,
  opts: { hidden?: boolean; manager?: string; only?: string[]; armed?: () => boolean } = {},
): Healer {
  const seen = new Map<string, Seen>();
  const wasPaused = new Set<string>();
  const healed: string[] = [];
  let running = true;
  const healing = async (o: Obj): Promise<boolean> => {
    if (opts.hidden) return true;
    const paths = ownerPaths(o, ns);
    const owners = await Promise.all(paths.map((p) => rest.getOrNull<Owner>(p)));
    return paths.some((p, i) => heals(p, owners[i]));
  };
  const heal = async (plural: string, kind: string, o: Obj) => {
    const key = `${kind}/${o.metadata.name}`;
    if (opts.only && !opts.only.includes(key)) return;
    const now: Seen = {
      replicas: o.spec.replicas ?? 1,
      images: Object.fromEntries(o.spec.template.spec.containers.map((c) => [c.name, c.image])),
    };
    const first = seen.get(key);
    const heals = await healing(o);
    // Resumed since the last look: what it looks like now is what Git says (the change made while it was paused).
    const resumed = heals && wasPaused.has(key);
    if (heals) wasPaused.delete(key);
    else wasPaused.add(key);
    if (!first || !heals || resumed) return void seen.set(key, now);
    const images = Object.entries(first.images).filter(([n, i]) => now.images[n] !== i);
    if ((now.replicas === first.replicas && !images.length) || (opts.armed && !opts.armed())) return;
    const path = `/apis/apps/v1/namespaces/${ns}/${plural}/${o.metadata.name}?fieldManager=${opts.manager ?? controllerOf(o)}`;
    await rest.patch(
      path,
      {
        spec: {
          replicas: first.replicas,
          template: { spec: { containers: images.map(([name, image]) => ({ name, image })) } },
        },
      },
      'strategic',
    );
    healed.push(
      `${key}: replicas ${now.replicas} → ${first.replicas}${images.length ? `, images ${images.map(([n, i]) => `${n}=${i}`).join(', ')}` : ''}`,
    );
  };
  const loop = (async () => {
    while (running) {
      for (const [plural, kind] of KINDS) {
        const list = await rest
          .get<{ items: Obj[] }>(`/apis/apps/v1/namespaces/${ns}/${plural}`)
          .catch(() => ({ items: [] as Obj[] }));
        for (const o of list.items.filter((x) => opts.hidden || marked(x)))
          await heal(plural, kind, o).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return {
    healed,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
