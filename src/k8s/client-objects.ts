import * as k8s from '@kubernetes/client-node';
import type { Cluster, KObject, ObjectRef } from './cluster.ts';
import { orUndefined } from './not-found.ts';
import { retryRead } from './retry.ts';

/** Any object by apiVersion and kind: create, read, list, delete, patch. */
export function objectMethods(
  objects: k8s.KubernetesObjectApi,
): Pick<Cluster, 'createObject' | 'readObject' | 'listObjects' | 'deleteObject' | 'patchObject'> {
  return {
    createObject: async (o) => (await objects.create(o as k8s.KubernetesObject)) as unknown as KObject,
    readObject: async (ref) =>
      retryRead(() => orUndefined(async () => (await objects.read(header(ref))) as unknown as KObject)),
    listObjects: async (apiVersion, kind, namespace, labelSelector) =>
      retryRead(
        async () =>
          (
            await objects.list(
              apiVersion,
              kind,
              namespace || undefined,
              undefined,
              undefined,
              undefined,
              undefined,
              labelSelector,
            )
          ).items as unknown as KObject[],
      ),
    deleteObject: async (ref, preconditions) => {
      await orUndefined(() =>
        objects.delete(
          header(ref),
          undefined,
          undefined,
          undefined,
          undefined,
          'Background',
          preconditions ? { preconditions } : undefined,
        ),
      );
    },
    patchObject: async (ref, patch, strategy) =>
      (await objects.patch(
        {
          ...header(ref),
          ...patch,
          metadata: { ...header(ref).metadata, ...((patch as { metadata?: object }).metadata ?? {}) },
        } as k8s.KubernetesObject,
        undefined,
        undefined,
        'kubectl-pgupgrade',
        undefined,
        strategy === 'merge' ? k8s.PatchStrategy.MergePatch : k8s.PatchStrategy.StrategicMergePatch,
      )) as unknown as KObject,
  };
}

function header(r: ObjectRef) {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: { name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) },
  };
}
