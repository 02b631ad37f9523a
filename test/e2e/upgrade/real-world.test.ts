import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { applyObjects, podName, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { assertNoSecret, deployCase, upgradeCli, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 18, the databases people actually run: a Bitnami source whose free tags are gone, and a namespace where
// other workloads run the postgres image as clients.
const test = suite("upgrade what real clusters hold: Bitnami's frozen images, clients on the postgres image");
const PASSWORD = 'RealWorld-E2E-S3cret';
const outputs: RunResult[] = [];
const LEGACY_15 = 'bitnamilegacy/postgresql:15.10.0-debian-12-r2';

const bitnami: Deployed = {
  name: 'Bitnami 13 → 15 without --image',
  file: 'upgrade',
  flavour: 'bitnami',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('rw-legacy'),
  pod: '',
};
const crowded: Deployed = {
  name: 'official 14 → 16 beside a backup CronJob and a psql client',
  file: 'upgrade',
  flavour: 'official',
  from: 14,
  to: 16,
  method: 'link',
  ns: uniqueNamespace('rw-clients'),
  pod: '',
};

async function cli(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const r = await runAsync(requireBinary(), args, { KUBECONFIG: cp.kubeconfig }, 300_000);
  outputs.push(r);
  return r;
}

/** What shares a namespace with a database in real clusters: a nightly pg_dump, and a Deployment kept around for psql. */
function clientsOf(ns: string): Array<Record<string, unknown>> {
  const env = [{ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'postgres', key: 'admin-pass' } } }];
  return [
    {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'pg-backup', namespace: ns },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'OnFailure',
                containers: [
                  {
                    name: 'dump',
                    image: 'postgres:14',
                    env,
                    command: ['/bin/sh', '-c', 'pg_dumpall -h postgres -U admin | gzip > /backup/all.sql.gz'],
                  },
                ],
              },
            },
          },
        },
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'psql-client', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'psql-client' } },
        template: {
          metadata: { labels: { app: 'psql-client' } },
          spec: {
            containers: [
              { name: 'psql', image: 'postgres:14', env, command: ['sh', '-c', 'while true; do sleep 3600; done'] },
            ],
          },
        },
      },
    },
  ];
}

test('set up: a Bitnami 13 StatefulSet; an official 14 Deployment beside a backup CronJob and a psql Deployment on postgres:14', async () => {
  const { cp } = await sharedEnv();
  await Promise.all([deployCase(cp, bitnami, PASSWORD), deployCase(cp, crowded, PASSWORD)]);
  await applyObjects(cp, clientsOf(crowded.ns));
  await waitReady(cp, crowded.ns, await podName(cp, crowded.ns, 'app=psql-client'));
});

test('a Bitnami source: check warns that the default target bitnamilegacy/postgresql:<tag> is frozen, and names --image and the dump method', async () => {
  const { cp } = await sharedEnv();
  const r = await cli(cp, ['check', '-n', bitnami.ns, '--to', '15', '-o', 'json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const finding = (
    JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; found: string; fix?: string }> }
  ).checks.find((c) => c.id === 'target-image');
  assert.is(finding?.status, 'warn');
  assert.match(finding?.found ?? '', `the target image is ${LEGACY_15}`);
  assert.match(finding?.found ?? '', 'gets no updates');
  assert.match(finding?.fix ?? '', '--image');
  assert.match(finding?.fix ?? '', '--method dump');
  const to18 = await cli(cp, ['upgrade', '-n', bitnami.ns, '--to', '18', '-y']);
  assert.is(to18.code, 2, to18.stdout + to18.stderr);
  assert.match(to18.stderr, 'Bitnami publishes no free image of PostgreSQL 18');
  assert.match(to18.stderr, '--image <a Bitnami-layout image of 18');
});

test('a Bitnami source without --image is upgraded into an image that exists, with the warning; the data is equal', async () => {
  const { cp } = await sharedEnv();
  const restarts = (
    await cp.kubectl([
      '-n',
      bitnami.ns,
      'get',
      'pod',
      bitnami.pod,
      '-o',
      'jsonpath={.status.containerStatuses[0].restartCount}',
    ])
  ).stdout.trim();
  const r = await upgradeCli(cp, ['-n', bitnami.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  assert.match(r.stderr, `WARN target-image the target image is ${LEGACY_15}`);
  assert.match(r.stderr, 'fix: pass --image');
  const image = (
    await cp.kubectl([
      '-n',
      bitnami.ns,
      'get',
      'sts',
      'circleci-postgresql',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ])
  ).stdout;
  assert.is(
    image,
    LEGACY_15,
    'a tag that bitnamilegacy publishes, which the test environment pulls (it refuses bitnami/postgresql:15)',
  );
  await verifyUpgraded(cp, bitnami, r, outputs, restarts);
});

test('check, snapshot and upgrade pick the database beside a backup CronJob and a psql Deployment on its image, and name the clients', async () => {
  const { cp } = await sharedEnv();
  const ns = crowded.ns;
  const r = await cli(cp, ['check', '-n', ns, '--to', '16', '-o', 'json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const d = (JSON.parse(r.stdout) as { discovery: { workload: string; imageClients: string[] } }).discovery;
  assert.is(d.workload, 'deploy/postgres');
  assert.equal(d.imageClients, [
    'deploy/psql-client (its command "sh -c while true; do sleep 3600; done" runs sleep instead of the server)',
    'cronjob/pg-backup (its command "/bin/sh -c pg_dumpall -h postgres -U admin | gzip > /backup/all.sql.gz" runs pg_dumpall, gzip instead of the server)',
  ]);
  const text = await cli(cp, ['check', '-n', ns, '--to', '16']);
  assert.match(text.stdout, /not the db +deploy\/psql-client \(its command/);
  const snap = await cli(cp, ['snapshot', '-n', ns]);
  assert.is(snap.code, 0, snap.stdout + snap.stderr);
  assert.match(snap.stdout + snap.stderr, 'Deployment postgres, PVC pgdata');
  assert.match(
    snap.stdout + snap.stderr,
    'clients of the image, not the database: deploy/psql-client, cronjob/pg-backup',
  );
  // Named, a client is taken as the user says; the report then names the others.
  const named = await cli(cp, ['check', '-n', ns, 'deploy/psql-client', '--to', '16']);
  assert.is(named.code, 2, 'a client has no data volume at PGDATA: refused as bad input');
  assert.match(named.stderr, `Deployment ${ns}/psql-client: no volume is mounted at PGDATA`);
  const restarts = (
    await cp.kubectl([
      '-n',
      ns,
      'get',
      'pod',
      crowded.pod,
      '-o',
      'jsonpath={.status.containerStatuses[0].restartCount}',
    ])
  ).stdout.trim();
  const up = await upgradeCli(cp, ['-n', ns, '--to', '16', '--method', 'link', '-y', '-o', 'json'], outputs);
  assert.match(
    up.stderr,
    'not the db   deploy/psql-client, cronjob/pg-backup: clients of the PostgreSQL image, left running',
  );
  const client = (
    await cp.kubectl([
      '-n',
      ns,
      'get',
      'deploy',
      'psql-client',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ])
  ).stdout;
  assert.is(client, 'postgres:14', 'the client was not patched');
  await verifyUpgraded(cp, crowded, up, outputs, restarts);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 8);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
