import type * as k8s from '@kubernetes/client-node';
import type { Cluster, Pvc, Workload } from './cluster.ts';
import { orUndefined } from './not-found.ts';
import { parseQuantity } from './quantity.ts';
import { retryRead } from './retry.ts';
import type { LabelRequirement } from './selector.ts';

/** Workloads, their volume claims and storage classes. */
export function workloadMethods(
  apps: k8s.AppsV1Api,
  core: k8s.CoreV1Api,
  storage: k8s.StorageV1Api,
): Pick<Cluster, 'listWorkloads' | 'getWorkload' | 'getPvc' | 'storageClassProvisioner'> {
  return {
    listWorkloads: async (namespace) =>
      retryRead(async () => {
        const [sts, deploys] = await Promise.all([
          apps.listNamespacedStatefulSet({ namespace }),
          apps.listNamespacedDeployment({ namespace }),
        ]);
        return [
          ...sts.items.map((o) => toWorkload('StatefulSet', o)),
          ...deploys.items.map((o) => toWorkload('Deployment', o)),
        ];
      }),
    getWorkload: async (namespace, kind, name) =>
      retryRead(() =>
        orUndefined(async () =>
          kind === 'StatefulSet'
            ? toWorkload(kind, await apps.readNamespacedStatefulSet({ namespace, name }))
            : toWorkload(kind, await apps.readNamespacedDeployment({ namespace, name })),
        ),
      ),
    getPvc: async (namespace, name) =>
      retryRead(() =>
        orUndefined(async () => toPvc(await core.readNamespacedPersistentVolumeClaim({ namespace, name }))),
      ),
    storageClassProvisioner: async (name) =>
      orUndefined(async () => (await storage.readStorageClass({ name })).provisioner),
  };
}

function toWorkload(kind: Workload['kind'], o: k8s.V1StatefulSet | k8s.V1Deployment): Workload {
  const spec = o.spec;
  return {
    kind,
    metadata: o.metadata as Workload['metadata'],
    replicas: spec?.replicas ?? 1,
    selector: spec?.selector.matchLabels ?? {},
    ...(spec?.selector.matchExpressions?.length
      ? { matchExpressions: spec.selector.matchExpressions as LabelRequirement[] }
      : {}),
    template: spec?.template as unknown as Workload['template'],
    volumeClaimTemplates: ((spec as k8s.V1StatefulSetSpec | undefined)?.volumeClaimTemplates ?? []).map(
      (t) => t.metadata?.name ?? '',
    ),
    ...(kind === 'Deployment'
      ? { strategy: (spec as k8s.V1DeploymentSpec | undefined)?.strategy as Workload['strategy'] }
      : {}),
  };
}

function toPvc(o: k8s.V1PersistentVolumeClaim): Pvc {
  const request = o.spec?.resources?.requests?.storage;
  const capacity = o.status?.capacity?.storage ?? request;
  return {
    metadata: o.metadata as Pvc['metadata'],
    storageClassName: o.spec?.storageClassName,
    accessModes: o.spec?.accessModes ?? [],
    capacityBytes: capacity === undefined ? undefined : parseQuantity(String(capacity)),
    requestBytes: request === undefined ? undefined : parseQuantity(String(request)),
    volumeName: o.spec?.volumeName,
  };
}
