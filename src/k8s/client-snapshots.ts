import type * as k8s from '@kubernetes/client-node';
import type { Cluster } from './cluster.ts';
import { orUndefined } from './not-found.ts';

/** VolumeSnapshotClasses: the drivers that have one, and the classes themselves. */
export function snapshotClassMethods(
  custom: k8s.CustomObjectsApi,
): Pick<Cluster, 'snapshotClassDrivers' | 'snapshotClasses'> {
  return {
    snapshotClassDrivers: async () =>
      orUndefined(async () => {
        const list = (await custom.listClusterCustomObject({
          group: 'snapshot.storage.k8s.io',
          version: 'v1',
          plural: 'volumesnapshotclasses',
        })) as { items: Array<{ driver: string }> };
        return list.items.map((c) => c.driver);
      }),
    snapshotClasses: async () =>
      orUndefined(async () => {
        const list = (await custom.listClusterCustomObject({
          group: 'snapshot.storage.k8s.io',
          version: 'v1',
          plural: 'volumesnapshotclasses',
        })) as {
          items: Array<{
            metadata: { name: string; annotations?: Record<string, string> };
            driver: string;
            deletionPolicy: string;
          }>;
        };
        return list.items.map((c) => ({
          name: c.metadata.name,
          driver: c.driver,
          deletionPolicy: c.deletionPolicy,
          isDefault: c.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true',
        }));
      }),
  };
}
