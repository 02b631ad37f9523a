import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster, KObject, ObjectRef } from '../../../src/k8s/cluster.ts';
import type { DumpState } from '../../../src/state/dump-state.ts';
import type { DumpCtx } from '../../../src/commands/upgrade/dump/ctx.ts';
import { createDumpRollbackTasks } from '../../../src/commands/upgrade/dump/rollback.ts';
import { instanceSelector } from '../../../src/manifests/dump-target-pod.ts';
import { serviceSelectorPatch } from '../../../src/manifests/service-cutover.ts';

const test = suite(
  'dump --rollback: the Services that a cutover moved, whole or half-way, go back; those pointed elsewhere since stay',
);

const before = (app: string) => ({ selector: { 'k8s-app': app }, ports: [{ port: 5432, targetPort: 5432 }] });
const state = (phase: DumpState['phase']): DumpState => ({
  version: 1,
  method: 'dump',
  workload: { kind: 'Deployment', name: 'postgres', replicas: 1 },
  workloadUid: 'uid-1',
  pvc: 'pgdata',
  container: 'postgres',
  from: 12,
  fromVersion: '12.22',
  to: 14,
  target: {
    kind: 'Deployment',
    name: 'postgres-v14',
    pvc: 'data-postgres-v14',
    service: 'postgres-v14',
    image: 'postgres:14',
    superuser: 'admin',
    container: 'postgres',
    md5Logins: true,
  },
  services: [
    { name: 'postgres', before: before('postgres') },
    { name: 'postgres-ro', before: before('postgres') },
    { name: 'reports', before: before('postgres') },
  ],
  apps: [],
  settings: [],
  jobs: 1,
  cutover: true,
  phase,
  history: [],
});

/** Services by name, merge-patched as the apiserver does a selector (null deletes a key). */
function services(specs: Record<string, { selector: Record<string, string>; ports: unknown[] }>) {
  const svc = new Map(Object.entries(structuredClone(specs)));
  const cluster = {
    readObject: async (r: ObjectRef) =>
      svc.has(r.name)
        ? { apiVersion: 'v1', kind: 'Service', metadata: { name: r.name }, spec: structuredClone(svc.get(r.name)) }
        : undefined,
    patchObject: async (
      r: ObjectRef,
      patch: { spec: { selector: Record<string, string | null>; ports?: unknown[] } },
    ) => {
      const cur = svc.get(r.name) as { selector: Record<string, string>; ports: unknown[] };
      const selector = Object.fromEntries(
        Object.entries({ ...cur.selector, ...patch.spec.selector }).filter(([, v]) => v !== null),
      ) as Record<string, string>;
      svc.set(r.name, { selector, ports: patch.spec.ports ?? cur.ports });
      return {} as KObject;
    },
  } as unknown as Cluster;
  return { svc, cluster };
}

const restoreTask = () => {
  const t = createDumpRollbackTasks({ timeoutSeconds: 10 } as never).find(
    (x) => x.title === 'Point the Services back at the old instance',
  );
  if (!t) throw new Error('no such task');
  return t;
};

test('a cutover killed between two patches (the record still at settings-back): the moved Service goes back, the other was never moved', async () => {
  const moved = serviceSelectorPatch(before('postgres'), instanceSelector('postgres-v14'), 5432).spec
    .selector as Record<string, string | null>;
  const cut = Object.fromEntries(
    Object.entries({ 'k8s-app': 'postgres', ...moved }).filter(([, v]) => v !== null),
  ) as Record<string, string>;
  const { svc, cluster } = services({
    postgres: { ...before('postgres'), selector: cut },
    'postgres-ro': before('postgres'),
    reports: { ...before('postgres'), selector: { app: 'warehouse' } },
  });
  const ctx = { cluster, d: { namespace: 'ns' }, state: state('settings-back') } as unknown as DumpCtx;
  const t = restoreTask();
  assert.ok(typeof t.enabled === 'function' && (await t.enabled(ctx)), 'enabled although the cutover is not recorded');
  const shown = { title: '' };
  await (t.task as (c: DumpCtx, task: typeof shown) => Promise<void>)(ctx, shown);
  assert.equal(
    svc.get('postgres')?.selector,
    { 'k8s-app': 'postgres' },
    'the Service the cutover moved leads to the old instance again',
  );
  assert.equal(svc.get('postgres-ro')?.selector, { 'k8s-app': 'postgres' });
  assert.equal(
    svc.get('reports')?.selector,
    { app: 'warehouse' },
    'a Service that someone pointed elsewhere is theirs',
  );
  assert.match(
    shown.title,
    'Point the Services back at the old instance: postgres; left as they are (pointed elsewhere since the cutover, not at postgres-v14): reports',
  );
});

test('--no-cutover: no Service is touched', async () => {
  const t = restoreTask();
  const ctx = { d: { namespace: 'ns' }, state: { ...state('done'), cutover: false } } as unknown as DumpCtx;
  assert.not.ok(typeof t.enabled === 'function' && (await t.enabled(ctx)));
});

test.run();
