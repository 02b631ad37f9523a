import type { Cluster, KObject, ObjectRef } from '../../../src/k8s/cluster.ts';

/** What the double does with a merge patch: metadata's labels and annotations, spec and data merged one level deep. */
interface MergePatch {
  metadata?: { resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: object;
  data?: Record<string, string>;
}

/**
 * A narrow in-memory double of the plugin's own `Cluster` interface (src/k8s/cluster.ts), for the calls that records,
 * leases and keys make: objects by kind, namespace and name, resourceVersions and 409s as the apiserver gives them,
 * Secrets' values base64-encoded. Not a fake apiserver: no watch, no selectors, no admission.
 */
export function objectStore(): Cluster & { objects: Map<string, KObject> } {
  const objects = new Map<string, KObject>();
  let rv = 1;
  const key = (r: ObjectRef) => `${r.kind}/${r.namespace}/${r.name}`;
  const conflict = () => Object.assign(new Error('Conflict'), { code: 409 });
  const store = (o: KObject) => {
    const v = structuredClone({ ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } });
    objects.set(key({ ...o, ...o.metadata }), v);
    return structuredClone(v);
  };
  const merge = (cur: KObject, patch: MergePatch): KObject => ({
    ...cur,
    metadata: {
      ...cur.metadata,
      labels: { ...cur.metadata.labels, ...patch.metadata?.labels },
      annotations: { ...cur.metadata.annotations, ...patch.metadata?.annotations },
    },
    spec: { ...cur.spec, ...patch.spec },
    data: { ...cur.data, ...patch.data },
  });
  return {
    objects,
    readObject: async (r: ObjectRef) => structuredClone(objects.get(key(r))),
    createObject: async (o: KObject) => {
      if (objects.has(key({ ...o, ...o.metadata }))) throw conflict();
      return store(o);
    },
    patchObject: async (r: ObjectRef, patch: MergePatch) => {
      const cur = objects.get(key(r));
      if (!cur) throw Object.assign(new Error('NotFound'), { code: 404 });
      if (patch.metadata?.resourceVersion && patch.metadata.resourceVersion !== cur.metadata.resourceVersion)
        throw conflict();
      return store(merge(cur, patch));
    },
    deleteObject: async (r: ObjectRef) => void objects.delete(key(r)),
    readSecretKey: async (ns: string, name: string, field: string) => {
      const value = objects.get(key({ kind: 'Secret', namespace: ns, name } as ObjectRef))?.data?.[field];
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
    },
  } as unknown as Cluster & { objects: Map<string, KObject> };
}
