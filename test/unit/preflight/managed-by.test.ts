import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SourceDiscovery } from '../../../src/discovery/discover.ts';
import { managedBy } from '../../../src/preflight/managed-by.ts';

const APP = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application' as const, namespace: 'argocd', name: 'shop' };
const d = (managers: string[]) =>
  ({
    namespace: 'db',
    managers,
    apps: [],
    workload: {
      kind: 'StatefulSet',
      metadata: { name: 'pg', annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/StatefulSet:db/pg' } },
    },
  }) as unknown as SourceDiscovery;

test('check judges the Argo CD Application as upgrade does: refused while it heals, only noted once it is read and does not', () => {
  const markersOnly = managedBy({ d: d(['Argo CD (shop)']) });
  assert.is(markersOnly.status, 'warn');
  assert.match(markersOnly.found, 'upgrade refuses until it is paused');
  const heals = managedBy({ d: d(['Argo CD (shop)']) }, [
    { ref: APP, heals: true, why: 'automated sync with selfHeal', obj: {} },
  ]);
  assert.match(heals.found, 'Application read: automated sync with selfHeal');
  assert.match(heals.found, 'upgrade refuses until it is paused');
  // Read, and it does not heal: no false alarm that upgrade would refuse; the sync that would put the old image back is still named.
  const calm = managedBy({ d: d(['Argo CD (shop)']) }, [
    { ref: APP, heals: false, why: 'automated sync without selfHeal: it does not undo drift', obj: {} },
  ]);
  assert.is(calm.status, 'warn');
  assert.not.match(calm.found, 'upgrade refuses');
  assert.match(calm.found, 'managed by Argo CD (shop): a sync would put the old image back');
  // Forbidden: judged by the markers, and it says so.
  const denied = managedBy({ d: d(['Argo CD (shop)']) }, [
    { ref: APP, why: 'reading Application argocd/shop is forbidden (403)' },
  ]);
  assert.match(denied.found, 'forbidden (403): judged by its markers');
});

test.run();
