import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster, ObjectRef } from '../../../src/k8s/cluster.ts';
import type { OwnerRef } from '../../../src/postgres/gitops-pause.ts';
import { readOwners } from '../../../src/steps/gitops.ts';
import { objectStore } from '../doubles/object-store.ts';

const app: OwnerRef = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'shop' };
const kust: OwnerRef = {
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  namespace: 'db',
  name: 'apps',
};

test('read-only detection: what each object says, and a 404 or a 403 judged by the markers, never fatal', async () => {
  const c = objectStore();
  await c.createObject({
    ...app,
    metadata: { name: 'shop', namespace: 'argocd' },
    spec: { syncPolicy: { automated: { selfHeal: true } } },
  });
  const [found, missing] = await readOwners(c, [app, kust]);
  assert.equal([found?.heals, found?.why], [true, 'automated sync with selfHeal']);
  assert.equal([missing?.heals, missing?.why], [undefined, 'Kustomization db/apps was not found (404)']);
  const forbidden = {
    ...c,
    readObject: async (r: ObjectRef) => {
      throw Object.assign(new Error(`applications "${r.name}" is forbidden`), { code: 403 });
    },
  } as Cluster;
  const [denied] = await readOwners(forbidden, [app]);
  assert.equal([denied?.heals, denied?.why], [undefined, 'reading Application argocd/shop is forbidden (403)']);
});

test.run();
