import type * as k8s from '@kubernetes/client-node';
import type { AccessQuestion, Cluster, KObject } from './cluster.ts';
import type { ResolvedContext } from './kubeconfig.ts';
import { orUndefined } from './not-found.ts';
import { getJson, PARTIAL_METADATA } from './raw-http.ts';
import { retryRead } from './retry.ts';

/** Secrets (metadata, or one key) and the access questions asked of the apiserver. */
export function accessMethods(
  ctx: ResolvedContext,
  core: k8s.CoreV1Api,
  authz: k8s.AuthorizationV1Api,
): Pick<Cluster, 'secretMetadata' | 'readSecretKey' | 'canI'> {
  return {
    secretMetadata: async (namespace, name) =>
      retryRead(() =>
        orUndefined(
          async () =>
            (await getJson(
              ctx,
              `api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
              30_000,
              PARTIAL_METADATA,
            )) as KObject,
        ),
      ),
    readSecretKey: async (namespace, name, key) =>
      orUndefined(async () => {
        const data = (await core.readNamespacedSecret({ namespace, name })).data?.[key];
        if (data === undefined) throw Object.assign(new Error('no key'), { code: 404 });
        return Buffer.from(data, 'base64').toString('utf8');
      }),
    canI: (questions) => Promise.all(questions.map((q) => canI(authz, q))),
  };
}

async function canI(authz: k8s.AuthorizationV1Api, q: AccessQuestion): Promise<boolean> {
  const review = await authz.createSelfSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          verb: q.verb,
          group: q.group,
          resource: q.resource,
          subresource: q.subresource,
          namespace: q.namespace,
        },
      },
    },
  });
  return review.status?.allowed === true;
}
