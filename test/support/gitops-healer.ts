import type { KubeRest } from './kube/rest.ts';

/**
 * A self-healing GitOps controller for the tests, standing in for Argo CD with selfHeal or Flux's drift correction:
 * a loop in the test process (not a real controller) that polls the Deployments and StatefulSets of one namespace
 * every 300 ms and puts back their replicas and container images to what it first saw, so within about 1 s of a
 * change. By default it heals only objects carrying Argo CD's or Flux's markers; `hidden` heals every one, markers
 * or not, as a controller that detection cannot see. It writes as field manager `manager`.
 */
export interface Healer {
  /** The changes it undid, as `StatefulSet pg: replicas 0 → 1`. */
  healed: string[];
  stop(): Promise<void>;
}

interface Seen { replicas: number; images: Record<string, string> }
type Obj = { metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { replicas?: number; template: { spec: { containers: Array<{ name: string; image: string }> } } } };

const MARKERS = ['argocd.argoproj.io/tracking-id', 'argocd.argoproj.io/instance', 'kustomize.toolkit.fluxcd.io/name', 'helm.toolkit.fluxcd.io/name'];
const marked = (o: Obj) => MARKERS.some((k) => o.metadata.labels?.[k] !== undefined || o.metadata.annotations?.[k] !== undefined);
const KINDS = [['deployments', 'Deployment'], ['statefulsets', 'StatefulSet']] as const;

/**
 * `only`: heal these objects alone (`StatefulSet/<name>`), as a controller of the database but not of its applications.
 * `armed`: heal only once it says so (it still learns the objects from the start), as a controller whose sync comes late.
 */
export function startHealer(rest: KubeRest, ns: string, opts: { hidden?: boolean; manager?: string; only?: string[]; armed?: () => boolean } = {}): Healer {
  const seen = new Map<string, Seen>();
  const healed: string[] = [];
  const manager = opts.manager ?? 'gitops-healer';
  let running = true;
  const heal = async (plural: string, kind: string, o: Obj) => {
    const key = `${kind}/${o.metadata.name}`;
    if (opts.only && !opts.only.includes(key)) return;
    const now: Seen = { replicas: o.spec.replicas ?? 1, images: Object.fromEntries(o.spec.template.spec.containers.map((c) => [c.name, c.image])) };
    const first = seen.get(key);
    if (!first) return void seen.set(key, now);
    const images = Object.entries(first.images).filter(([n, i]) => now.images[n] !== i);
    if ((now.replicas === first.replicas && !images.length) || (opts.armed && !opts.armed())) return;
    const path = `/apis/apps/v1/namespaces/${ns}/${plural}/${o.metadata.name}?fieldManager=${manager}`;
    await rest.patch(path, { spec: { replicas: first.replicas, template: { spec: { containers: images.map(([name, image]) => ({ name, image })) } } } }, 'strategic');
    healed.push(`${key}: replicas ${now.replicas} → ${first.replicas}${images.length ? `, images ${images.map(([n, i]) => `${n}=${i}`).join(', ')}` : ''}`);
  };
  const loop = (async () => {
    while (running) {
      for (const [plural, kind] of KINDS) {
        const list = await rest.get<{ items: Obj[] }>(`/apis/apps/v1/namespaces/${ns}/${plural}`).catch(() => ({ items: [] as Obj[] }));
        for (const o of list.items.filter((x) => opts.hidden || marked(x))) await heal(plural, kind, o).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  return { healed, stop: async () => { running = false; await loop; } };
}
