// Run by gitops-ctrl-c.test.ts in a process of its own (what src/interrupt.ts keeps lasts as long as the process): an
// upgrade in place pauses a Flux Kustomization under the lock, and Ctrl-C comes before the applications are down.
// Ctrl-C is handled as src/cli.ts does: the clean-ups, then the exit; what the cluster holds at the exit is printed.
// argv[2]: `stops`, the flow's next step stops at Ctrl-C (as poll.ts does); `stuck`, it never looks (an exec).
import type { Cluster } from '../../../src/k8s/cluster.ts';
import { isInterrupted, runInterruptCleanups } from '../../../src/interrupt.ts';
import { IN_PLACE_PAUSE, type UpgradeCtx } from '../../../src/commands/upgrade/ctx.ts';
import { pausePhase } from '../../../src/commands/upgrade/gitops.ts';
import { holdingLock, lockRecord, takeLock } from '../../../src/state/lock.ts';
import type { UpgradeState } from '../../../src/state/state.ts';
import { saveState } from '../../../src/state/store.ts';
import { objectStore } from '../doubles/object-store.ts';
import { jobSpec } from '../doubles/job-spec.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const store = objectStore();
// Every call answered a little later, as an apiserver does: a release left unawaited would not be done at the exit.
const cluster = new Proxy(store, {
  get: (t, k) => {
    const v = Reflect.get(t, k);
    return typeof v === 'function' ? async (...a: unknown[]) => (await sleep(3), v.apply(t, a)) : v;
  },
}) as Cluster;
const kust = { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: 'ns', name: 'apps' };
await store.createObject({ ...kust, metadata: { name: 'apps', namespace: 'ns' }, spec: { suspend: false } });
const state = {
  version: 1,
  workload: { kind: 'StatefulSet', name: 'db', replicas: 1 },
  workloadUid: 'uid-db',
  pvc: 'data-db-0',
  container: 'postgresql',
  from: 13,
  fromVersion: '13.22',
  to: 15,
  method: 'link',
  oldImage: 'postgres:13',
  targetImage: 'postgres:15',
  jobImage: jobSpec.image,
  apps: [{ kind: 'Deployment', name: 'app', replicas: 2 }],
  snapshot: null,
  fingerprintConfigMap: 'f',
  job: jobSpec.name,
  jobSpec,
  phase: 'preflight',
  history: [{ phase: 'preflight', at: '2026-11-30T00:00:00.000Z' }],
} as unknown as UpgradeState;
const name = 'pgupgrade-state-db';
const ctx = { cluster, d: { namespace: 'ns' }, names: { state: name }, state, pauseOwners: [kust] } as UpgradeCtx;
ctx.stateVersion = await saveState(cluster, 'ns', name, state, undefined);
ctx.lock = await lockRecord(cluster, 'ns', name, 'StatefulSet/db', ctx.stateVersion);
const flow = holdingLock(
  ctx.lock,
  () => undefined,
  async () => {
    await pausePhase(IN_PLACE_PAUSE, (c) => c.names.state).step(ctx, { title: '', output: '' });
    if (process.argv[2] === 'stuck') await new Promise(() => undefined);
    while (!isInterrupted()) await sleep(5);
    throw new Error('interrupted');
  },
).catch((e: Error) => e.message);
while (store.objects.get('Kustomization/ns/apps')?.spec?.suspend !== true) await sleep(1);
await runInterruptCleanups(15_000);
const rec = JSON.parse(store.objects.get(`ConfigMap/ns/${name}`)?.data?.['state.json'] ?? '{}') as UpgradeState;
// The re-run right after, on this host, with this very process alive: it must find the lock free.
const rerun = await takeLock(cluster, 'ns', name, 'StatefulSet/db').then(
  (l) => l.release().then(() => 'took the lock'),
  (e: Error) => e.message,
);
const out = {
  suspend: store.objects.get('Kustomization/ns/apps')?.spec?.suspend,
  phase: rec.phase,
  pausedOwners: rec.pausedOwners?.length ?? 0,
  ownersResumedAt: typeof rec.ownersResumedAt,
  rerun,
  flow: process.argv[2] === 'stuck' ? 'still in its step' : await flow,
};
process.stdout.write(JSON.stringify(out));
process.exit(130);
