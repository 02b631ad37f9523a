import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { accessMethods } from './client-access.ts';
import { objectMethods } from './client-objects.ts';
import { podMethods } from './client-pods.ts';
import { snapshotClassMethods } from './client-snapshots.ts';
import { workloadMethods } from './client-workloads.ts';
import type { Cluster } from './cluster.ts';
import type { ResolvedContext } from './kubeconfig.ts';
import { orUndefined } from './not-found.ts';

/** The only implementation of {@link Cluster}: client-node, configured from the context kubectl would use. */
export function connectCluster(ctx: ResolvedContext): Cluster {
  const kc = kubeConfigFor(ctx);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const version = kc.makeApiClient(k8s.VersionApi);
  return {
    contextName: ctx.contextName,
    namespace: ctx.namespace,
    serverVersion: async () => (await version.getCode()).gitVersion,
    namespaceLabels: async (name) =>
      orUndefined(async () => (await core.readNamespace({ name })).metadata?.labels ?? {}),
    ...workloadMethods(kc.makeApiClient(k8s.AppsV1Api), core, kc.makeApiClient(k8s.StorageV1Api)),
    ...snapshotClassMethods(kc.makeApiClient(k8s.CustomObjectsApi)),
    ...objectMethods(k8s.KubernetesObjectApi.makeApiClient(kc)),
    ...podMethods(kc, core),
    ...accessMethods(ctx, core, kc.makeApiClient(k8s.AuthorizationV1Api)),
  };
}

/** Builds client-node's config from the resolved context; a token file is read here, as kubectl reads it. */
function kubeConfigFor(ctx: ResolvedContext): k8s.KubeConfig {
  const user: Record<string, unknown> = { ...ctx.user };
  if (typeof user.tokenFile === 'string' && user.token === undefined)
    user.token = fs.readFileSync(user.tokenFile, 'utf8').trim();
  delete user.tokenFile;
  const kc = new k8s.KubeConfig();
  kc.loadFromString(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': ctx.contextName,
      clusters: [{ name: ctx.clusterName, cluster: ctx.cluster }],
      users: [{ name: ctx.userName, user }],
      contexts: [
        { name: ctx.contextName, context: { cluster: ctx.clusterName, user: ctx.userName, namespace: ctx.namespace } },
      ],
    }),
  );
  return kc;
}
