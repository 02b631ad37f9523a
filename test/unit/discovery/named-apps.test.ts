import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster, Pod, Workload } from '../../../src/k8s/cluster.ts';
import { mergeApps, namedApps, podsOutside } from '../../../src/discovery/named-apps.ts';
import { CliError } from '../../../src/exit-codes.ts';

const test = suite('discovery/named-apps: --app kind/name');

const w = (kind: Workload['kind'], name: string, labels: Record<string, string>): Workload =>
  ({
    kind,
    metadata: { name, labels },
    replicas: 1,
    selector: labels,
    template: { spec: { containers: [] } },
    volumeClaimTemplates: [],
  }) as unknown as Workload;
const db = w('StatefulSet', 'pg', { app: 'pg' });
const web = w('Deployment', 'web', { app: 'web', layer: 'application' });
const cron = w('Deployment', 'reports', { app: 'reports' });
// Only listWorkloads is used: the double implements that one method of our own interface.
const cluster = { listWorkloads: async () => [db, web, cron] } as unknown as Cluster;

test('each named workload is found; deploy/ and sts/ and their long forms are accepted', async () => {
  assert.equal(
    (await namedApps(cluster, 'ns', ['deploy/reports', 'Deployment/web'], db)).map((x) => x.metadata.name),
    ['reports', 'web'],
  );
  assert.equal(await namedApps(cluster, 'ns', [], db), []);
});

test('a bad form, a missing workload and the database itself are bad input with the way to name one', async () => {
  for (const [ref, msg] of [
    ['reports', 'name a Deployment or StatefulSet'],
    ['job/x', 'name a Deployment or StatefulSet'],
    ['deploy/nope', 'no Deployment nope in namespace ns'],
    ['sts/pg', 'is the database itself'],
  ] as const) {
    try {
      await namedApps(cluster, 'ns', [ref], db);
      assert.unreachable(ref);
    } catch (err) {
      assert.instance(err, CliError);
      assert.is((err as CliError).exitCode, 2);
      assert.match((err as Error).message, msg);
    }
  }
});

test('merged once; the pods outside every application and the database are the ones left running', () => {
  assert.equal(
    mergeApps([web], [web, cron]).map((x) => x.metadata.name),
    ['web', 'reports'],
  );
  const pod = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels } }) as unknown as Pod;
  const pods = [
    pod('pg-0', { app: 'pg' }),
    pod('web-1', { app: 'web', layer: 'application' }),
    pod('reports-1', { app: 'reports' }),
    pod('psql', {}),
  ];
  assert.equal(
    podsOutside(pods, [web], db).map((p) => p.metadata.name),
    ['reports-1', 'psql'],
  );
  assert.equal(
    podsOutside(pods, [web, cron], db).map((p) => p.metadata.name),
    ['psql'],
  );
});

test.run();
