import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster, KObject, Pod } from '../../../src/k8s/cluster.ts';
import { appsBackProblem, cameBackDuringJob, stillDownProblem, watchStillDown } from '../../../src/steps/still-down.ts';

const obj = (kind: string, name: string, replicas: number, manager = 'node-fetch'): KObject => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name, managedFields: [{ manager, operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }] },
  spec: { replicas },
});
const pod = (name: string, labels: Record<string, string>, claim?: string): Pod => ({
  metadata: { name, labels },
  phase: 'Running',
  ready: true,
  spec: { containers: [], volumes: claim ? [{ name: 'd', persistentVolumeClaim: { claimName: claim } }] : [] },
});
// Only readObject and listPods are used: the double implements those two methods of our own interface.
const double = (objs: KObject[], pods: Pod[]) =>
  ({
    readObject: async (r: { kind: string; name: string }) =>
      objs.find((o) => o.kind === r.kind && o.metadata.name === r.name),
    listPods: async () => pods,
  }) as unknown as Cluster;
const stopped = {
  namespace: 'db',
  workload: { kind: 'StatefulSet', name: 'pg', selector: { app: 'pg' } },
  apps: [{ kind: 'Deployment', name: 'web' }],
  claim: 'data-pg-0',
};

test("all still down, only the plugin's Job on the claim: nothing to say", async () => {
  const job = pod('pgupgrade-x', { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade' }, 'data-pg-0');
  assert.is(
    await stillDownProblem(double([obj('StatefulSet', 'pg', 0), obj('Deployment', 'web', 0)], [job]), stopped),
    undefined,
  );
});

test('a controller scaled the database back up and its pod mounts the claim: named, with the manager of spec.replicas', async () => {
  const c = double(
    [obj('StatefulSet', 'pg', 1, 'argocd-controller'), obj('Deployment', 'web', 0)],
    [pod('pg-0', { app: 'pg' }, 'data-pg-0'), pod('other', {}, 'data-pg-0')],
  );
  const msg = (await stillDownProblem(c, stopped)) ?? '';
  assert.match(msg, 'StatefulSet db/pg has 1 replicas again (spec.replicas set by field manager argocd-controller)');
  assert.match(msg, 'pod pg-0 of StatefulSet pg runs again');
  assert.match(msg, 'pod other mounts PVC data-pg-0');
  assert.match(msg, 'pg_upgrade did not start');
  assert.match(msg, 'kubectl pgupgrade upgrade -n db sts/pg --rollback');
});

test('a workload selected only by matchExpressions: an unrelated pod is not taken for its pod; its own pod is', async () => {
  const byExpr = {
    ...stopped,
    workload: {
      kind: 'StatefulSet',
      name: 'pg',
      selector: {},
      matchExpressions: [{ key: 'app', operator: 'In' as const, values: ['pg'] }],
    },
  };
  const c = (pods: Pod[]) => double([obj('StatefulSet', 'pg', 0), obj('Deployment', 'web', 0)], pods);
  assert.is(await stillDownProblem(c([pod('cache-0', { app: 'redis' })]), byExpr), undefined, "another workload's pod");
  assert.match(
    (await stillDownProblem(c([pod('pg-0', { app: 'pg' })]), byExpr)) ?? '',
    'pod pg-0 of StatefulSet pg runs again',
  );
});

test('an application scaled back up stops the load of a dump', async () => {
  const c = double([obj('Deployment', 'web', 2, 'kustomize-controller')], []);
  const msg =
    (await appsBackProblem(
      c,
      'db',
      [{ kind: 'Deployment', name: 'web' }],
      'kubectl pgupgrade upgrade -n db deploy/pg --rollback',
    )) ?? '';
  assert.match(msg, 'Deployment db/web has 2 replicas again (spec.replicas set by field manager kustomize-controller)');
  assert.match(msg, 'the load did not start');
  assert.is(
    await appsBackProblem(double([obj('Deployment', 'web', 0)], []), 'db', [{ kind: 'Deployment', name: 'web' }], ''),
    undefined,
  );
});

test('while the Job runs: the watch reports the database scaled back up by a controller, and the message names it and the hold', async () => {
  const objs = [obj('StatefulSet', 'pg', 0), obj('Deployment', 'web', 0)];
  const pods: Pod[] = [pod('pgupgrade-x', { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade' }, 'data-pg-0')];
  const watch = watchStillDown(double(objs, pods), stopped, 5);
  await new Promise((r) => setTimeout(r, 20));
  objs[0] = obj('StatefulSet', 'pg', 1, 'self-healer');
  pods.push(pod('pg-0', { app: 'pg' }, 'data-pg-0'));
  await new Promise((r) => setTimeout(r, 30));
  const found = await watch.stop();
  assert.ok(
    found.includes('StatefulSet db/pg has 1 replicas again (spec.replicas set by field manager self-healer)'),
    found.join('; '),
  );
  const msg = cameBackDuringJob(found, stopped, true);
  assert.match(msg, 'while the upgrade Job ran');
  assert.match(msg, 'could not start the old server there');
  assert.match(msg, 'kubectl pgupgrade upgrade -n db sts/pg --rollback');
  const quiet = watchStillDown(double([obj('StatefulSet', 'pg', 0), obj('Deployment', 'web', 0)], []), stopped, 5);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await quiet.stop(), [], 'nothing came back: nothing reported');
});

test.run();
