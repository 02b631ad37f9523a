import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SourceDiscovery } from '../../../src/discovery/discover.ts';
import { judgeGitops } from '../../../src/commands/upgrade/gitops.ts';
import { objectStore } from '../doubles/object-store.ts';

// A workload without markers whose Service (which the dump's cutover points at the new instance) Argo CD tracks.
const d = {
  namespace: 'db',
  apps: [],
  workload: { kind: 'StatefulSet', metadata: { name: 'pg' } },
} as unknown as SourceDiscovery;
const service = {
  kind: 'Service' as const,
  metadata: { name: 'pg', annotations: { 'argocd.argoproj.io/tracking-id': 'shop:/Service:db/pg' } },
};

test("the dump's Services count: a healing Application behind one is refused, or paused with --pause-gitops", async () => {
  const cluster = objectStore();
  await cluster.createObject({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'shop', namespace: 'argocd' },
    spec: { syncPolicy: { automated: { selfHeal: true } } },
  });
  const refused = await judgeGitops({ cluster, d }, {}, [service]).then(
    () => '',
    (e: Error) => e.message,
  );
  assert.match(
    refused,
    'Argo CD Application shop manages Service pg (annotation argocd.argoproj.io/tracking-id; Application read: automated sync with selfHeal)',
  );
  assert.match(refused, 'or point a Service back');
  assert.match(refused, 'or run again with --pause-gitops');
  const ctx = { cluster, d } as Parameters<typeof judgeGitops>[0];
  await judgeGitops(ctx, { pauseGitops: true }, [service]);
  assert.equal(
    ctx.pauseOwners?.map((o) => `${o.kind} ${o.namespace}/${o.name}`),
    ['Application argocd/shop'],
  );
  // Without the Service (in place, or --no-cutover), nothing manages what the upgrade stops.
  await judgeGitops({ cluster, d }, {});
});

test.run();
