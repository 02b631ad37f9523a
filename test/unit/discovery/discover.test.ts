import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster, KObject, Workload } from '../../../src/k8s/cluster.ts';
import { discover, DUMP_SOURCE, requireVolume } from '../../../src/discovery/discover.ts';
import { appsOf, findWorkload } from '../../../src/discovery/find-workload.ts';
import { readSuperuser } from '../../../src/discovery/credentials.ts';
import { clientReason, scriptPrograms } from '../../../src/postgres/server-or-client.ts';
import { CliError } from '../../../src/exit-codes.ts';
import {
  claimNameOf,
  dataMountOf,
  flavourOf,
  helmImageValues,
  isPostgresWorkload,
  managersOf,
  multiReplicaProblem,
  parseWorkloadRef,
  pgdataOf,
  tagMajor,
} from '../../../src/postgres/workload.ts';
import { parseSelector } from '../../../src/k8s/selector.ts';
import { workloadWaits } from '../../../src/preflight/estimate.ts';
import type { Discovery } from '../../../src/discovery/discover.ts';
import { parseQuantity, formatBytes } from '../../../src/k8s/quantity.ts';

const test = suite('discovery');

function workload(kind: Workload['kind'], name: string, image: string, extra: Partial<Workload> = {}): Workload {
  return {
    kind,
    metadata: { name },
    replicas: 1,
    selector: { app: name },
    volumeClaimTemplates: [],
    template: { spec: { containers: [{ name: 'db', image, ports: [{ containerPort: 5432 }] }] } },
    ...extra,
  };
}

/** A narrow in-memory double of the Cluster interface: only the listing that findWorkload uses. */
function clusterWith(items: Workload[], jobs: KObject[] = []): Cluster {
  const missing = () => Promise.reject(new Error('not used here'));
  return {
    contextName: 'unit',
    namespace: 'ns',
    serverVersion: missing,
    namespaceLabels: missing,
    getPvc: missing,
    listPods: missing,
    storageClassProvisioner: missing,
    snapshotClassDrivers: missing,
    readSecretKey: missing,
    canI: missing,
    exec: missing,
    createPod: missing,
    deletePod: missing,
    podState: missing,
    snapshotClasses: missing,
    createObject: missing,
    readObject: missing,
    secretMetadata: missing,
    listObjects: async () => jobs,
    deleteObject: missing,
    patchObject: missing,
    podLog: missing,
    followLog: () => ({ done: missing(), abort: () => undefined }),
    listWorkloads: async () => items,
    getWorkload: async (_ns, kind, name) => items.find((w) => w.kind === kind && w.metadata.name === name),
  };
}

async function usage(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, CliError);
    assert.is((err as CliError).exitCode, 2);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

test('finds the one PostgreSQL workload, or says which exist', async () => {
  const db = workload('StatefulSet', 'pg', 'bitnami/postgresql:13.4.0');
  const app = workload('Deployment', 'web', 'nginx:1');
  const found = async (c: Cluster, ref?: string) => (await findWorkload(c, 'ns', ref)).workload;
  assert.is(await found(clusterWith([db, app])), db);
  assert.is(await found(clusterWith([db, app]), 'sts/pg'), db);
  assert.is(await found(clusterWith([db, app]), 'pg'), db);
  assert.match(
    await usage(findWorkload(clusterWith([app]), 'ns')),
    'no PostgreSQL server StatefulSet or Deployment found in namespace ns',
  );
  const two = [db, workload('Deployment', 'other', 'postgres:15')];
  assert.match(
    await usage(findWorkload(clusterWith(two), 'ns')),
    'several PostgreSQL servers in namespace ns: sts/pg, deploy/other',
  );
  assert.match(
    await usage(findWorkload(clusterWith(two), 'ns', 'deploy/pg')),
    'no Deployment named pg in namespace ns; PostgreSQL servers there: sts/pg, deploy/other',
  );
  assert.match(await usage(findWorkload(clusterWith(two), 'ns', 'cm/pg')), 'use sts/<name>, deploy/<name>');
  const both = [db, workload('Deployment', 'pg', 'postgres:15')];
  assert.match(await usage(findWorkload(clusterWith(both), 'ns', 'pg')), 'both sts/pg and deploy/pg exist');
});

test('no volume at PGDATA: refused in place (pointing to --method dump); taken by the dump method, its inline password read, never elsewhere', async () => {
  const db = workload('Deployment', 'postgres', 'postgres:13');
  const c = db.template.spec.containers[0] as NonNullable<Workload['template']['spec']['containers'][0]>;
  c.env = [
    { name: 'POSTGRES_USER', value: 'admin' },
    { name: 'POSTGRES_PASSWORD', value: 'inline-S3cret' },
  ];
  const cluster = { ...clusterWith([db]), namespaceLabels: async () => ({}), listPods: async () => [] };
  const refused = await usage(discover(cluster, 'ns', undefined, {}));
  assert.match(
    refused,
    "Deployment ns/postgres: no volume is mounted at PGDATA /var/lib/postgresql/data; the data lives in the container's writable layer",
  );
  assert.match(refused, 'Move it into a new instance with a PVC: --method dump');
  const d = await discover(cluster, 'ns', undefined, {}, DUMP_SOURCE);
  assert.is(d.pvc, undefined);
  assert.is(d.mountPath, undefined);
  assert.equal(d.volumeUsers, []);
  assert.match(
    await usage((async () => requireVolume(d, 'a probe pod has nothing to read'))()),
    "no volume is mounted at PGDATA /var/lib/postgresql/data (its data lives in the container's writable layer), so a probe pod",
  );
  assert.equal(await readSuperuser(cluster, d), { user: 'admin', password: 'inline-S3cret' });
  assert.equal(d.superuser, { user: 'admin', env: 'POSTGRES_PASSWORD', literal: true, via: 'env POSTGRES_PASSWORD' });
  const strict = await discover(cluster, 'ns', undefined, {}, { volume: 'optional' });
  assert.match(
    await usage(readSuperuser(cluster, strict)),
    'POSTGRES_PASSWORD is written in the manifest; move it to a Secret',
  );
});

test('a password env written as $(VAR): read from the Secret the kubelet expands it from, or refused (exit 2) naming the workload and the fix', async () => {
  const db = workload('Deployment', 'postgres', 'postgres:13');
  const c = db.template.spec.containers[0] as NonNullable<Workload['template']['spec']['containers'][0]>;
  const secret = { name: 'DB_PASS', valueFrom: { secretKeyRef: { name: 'db', key: 'pass' } } };
  const cluster = {
    ...clusterWith([db]),
    readSecretKey: async (_ns: string, name: string, key: string) =>
      name === 'db' && key === 'pass' ? 'S3cret' : undefined,
  };
  c.env = [secret, { name: 'POSTGRES_PASSWORD', value: '$(DB_PASS)' }];
  const d = await discover(
    { ...cluster, namespaceLabels: async () => ({}), listPods: async () => [] },
    'ns',
    undefined,
    {},
    DUMP_SOURCE,
  );
  assert.equal(await readSuperuser(cluster, d), { user: 'postgres', password: 'S3cret' });
  assert.equal(d.superuser?.secret, { name: 'db', key: 'pass' });
  c.env = [{ name: 'POSTGRES_PASSWORD', value: '$(DB_PASS)' }, secret];
  const refused = await usage(readSuperuser(cluster, d));
  assert.match(
    refused,
    'Deployment ns/postgres: container db: env POSTGRES_PASSWORD refers to $(DB_PASS), which neither an env entry above it nor envFrom sets',
  );
  assert.match(refused, 'define DB_PASS in an env entry above POSTGRES_PASSWORD');
  assert.not.match(refused, 'S3cret');
});

test('clients on the image are named, never candidates: a sleep loop, psql, a backup CronJob; the server is picked alone', async () => {
  const withContainer = (name: string, c: Partial<Workload['template']['spec']['containers'][0]>) =>
    workload('Deployment', name, 'postgres:16', {
      template: { spec: { containers: [{ name: 'c', image: 'postgres:16', ...c }] } },
    });
  const db = withContainer('db', {
    env: [{ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' }],
    volumeMounts: [{ name: 'd', mountPath: '/var/lib/postgresql/data' }],
  });
  const sleeper = withContainer('psql-client', { command: ['sh', '-c', 'while true; do sleep 3600; done'] });
  const psql = withContainer('migrate', { args: ['psql', '-h', 'db', '-f', '/sql/up.sql'] });
  const bare = withContainer('scratch', {});
  const backup: KObject = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'pg-backup' },
    spec: {
      jobTemplate: {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'dump',
                  image: 'postgres:16',
                  command: ['/bin/bash', '-c', 'PGPASSWORD=$P pg_dump -h postgres app | gzip > /b/app.gz'],
                },
              ],
            },
          },
        },
      },
    },
  };
  const r = await findWorkload(clusterWith([db, sleeper, psql, bare], [backup]), 'ns');
  assert.is(r.workload, db);
  assert.equal(
    r.clients.map((c) => c.ref),
    ['deploy/psql-client', 'deploy/migrate', 'deploy/scratch', 'cronjob/pg-backup'],
  );
  assert.match(
    r.clients[0]?.why ?? '',
    /command "sh -c while true; do sleep 3600; done" runs sleep instead of the server/,
  );
  assert.match(r.clients[1]?.why ?? '', /args "psql -h db -f \/sql\/up.sql" runs psql instead of the server/);
  assert.match(r.clients[2]?.why ?? '', 'mounts no data volume, and sets no PGDATA, no superuser password and no port');
  assert.match(r.clients[3]?.why ?? '', /runs pg_dump, gzip instead of the server/);
  const none = await usage(findWorkload(clusterWith([sleeper], [backup]), 'ns'));
  assert.match(none, 'no PostgreSQL server StatefulSet or Deployment found in namespace ns');
  assert.match(none, 'clients on a PostgreSQL image there, not candidates: deploy/psql-client (its command');
  assert.match(none, 'cronjob/pg-backup (its command');
  // The official image with its superuser's password and nothing else: a server keeping its data in its writable layer.
  const layer = withContainer('postgres', { env: [{ name: 'POSTGRES_PASSWORD', value: 'x' }] });
  assert.is((await findWorkload(clusterWith([layer, sleeper, bare]), 'ns')).workload, layer);
  assert.is(
    clientReason({
      name: 'c',
      image: 'bitnami/postgresql:16',
      env: [{ name: 'POSTGRESQL_PASSWORD_FILE', value: '/s/p' }],
    }),
    undefined,
  );
  assert.ok(
    clientReason({ name: 'c', image: 'postgres:16', env: [{ name: 'PGPASSWORD', value: 'x' }] }),
    "PGPASSWORD is a client's",
  );
  // Named by the user, a workload is taken as it is (a wrapper script of its own may start the server).
  assert.is((await findWorkload(clusterWith([db, sleeper]), 'ns', 'deploy/psql-client')).workload, sleeper);
});

test("what starts the server: the images' entrypoints, postgres itself, a shell that execs it; anything else is a client", () => {
  const c = (command?: string[], args?: string[]) =>
    clientReason({ name: 'c', image: 'postgres:16', command, args, ports: [{ containerPort: 5432 }] });
  for (const [command, args] of [
    [undefined, undefined],
    [undefined, ['postgres', '-c', 'max_connections=200']],
    [undefined, ['-c', 'shared_buffers=1GB']],
    [['docker-entrypoint.sh'], ['postgres']],
    [['/opt/bitnami/scripts/postgresql/entrypoint.sh'], ['/opt/bitnami/scripts/postgresql/run.sh']],
    [['sh', '-c', 'chmod 700 /data && exec docker-entrypoint.sh postgres'], undefined],
    [['bash', '/usr/local/bin/docker-entrypoint.sh', 'postgres'], undefined],
    [['/bin/sh', '-ec', 'X=1 exec postgres -D /data'], undefined],
    [['tini', '--', 'docker-entrypoint.sh'], ['postgres']],
    [['gosu', 'postgres', 'postgres'], undefined],
    [['sh', '-c', 'exec tini -- docker-entrypoint.sh postgres'], undefined],
  ] as const) {
    assert.is(
      c(command as string[] | undefined, args as string[] | undefined),
      undefined,
      JSON.stringify([command, args]),
    );
  }
  for (const [command, args] of [
    [['sleep', 'infinity'], undefined],
    [undefined, ['sleep', 'infinity']],
    [['docker-entrypoint.sh'], ['psql', '-c', 'select 1']],
    [['sh', '-c', 'pg_dumpall -h postgres > /backup/all.sql'], undefined],
    [['bash'], undefined],
    [['pg_isready', '-h', 'postgres'], undefined],
    [['tini', '--', 'sleep', 'infinity'], undefined],
  ] as const) {
    assert.ok(c(command as string[] | undefined, args as string[] | undefined), JSON.stringify([command, args]));
  }
  assert.equal(scriptPrograms('set -e; until pg_isready -h db; do sleep 1; done && psql -f x.sql'), [
    'set',
    'pg_isready',
    'sleep',
    'psql',
  ]);
  // postgres:18 moved onto a volume at the path of 17 and before (no PGDATA, no port): still the server.
  const moved = {
    name: 'c',
    image: 'postgres:18',
    volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
  };
  assert.is(clientReason(moved), undefined);
  assert.ok(clientReason({ ...moved, volumeMounts: [{ name: 'backup', mountPath: '/backup' }] }));
});

test('what a workload says about itself: flavour, PGDATA, superuser, volume, managers', () => {
  assert.equal(parseWorkloadRef('statefulset/x'), { kind: 'StatefulSet', name: 'x' });
  assert.is(flavourOf('docker.io/bitnamilegacy/postgresql:13.4.0'), 'bitnami');
  assert.is(flavourOf('postgres:15-alpine'), 'official');
  assert.is(flavourOf('registry.example.com/circleci/postgres:12'), 'vendor');
  assert.is(
    flavourOf('cciserver.azurecr.io/circleci/server-postgres:14.22.4094-4922444'),
    'vendor',
    "a vendor's name says nothing; the pod does (layout.ts)",
  );
  assert.is(tagMajor('bitnami/postgresql:13.0.0-debian-12-r0'), 13);
  assert.ok(
    isPostgresWorkload(
      workload('Deployment', 'x', 'nginx', {
        metadata: { name: 'x', labels: { 'app.kubernetes.io/name': 'postgresql' } },
      }),
    ),
  );
  assert.not.ok(isPostgresWorkload(workload('Deployment', 'x', 'tianon/postgres-upgrade:13-to-15')));
  assert.is(pgdataOf({ name: 'c' }, 'bitnami'), '/bitnami/postgresql/data');
  assert.is(pgdataOf({ name: 'c' }, 'official', 18), '/var/lib/postgresql/18/docker');
  assert.is(pgdataOf({ name: 'c', env: [{ name: 'PGDATA', value: '/x/pgdata' }] }, 'official', 13), '/x/pgdata');
  const c = {
    name: 'c',
    volumeMounts: [
      { name: 'data', mountPath: '/var/lib/postgresql/data' },
      { name: 'shm', mountPath: '/dev/shm' },
    ],
  };
  assert.equal(dataMountOf(c, '/var/lib/postgresql/data/pgdata'), {
    volume: 'data',
    mountPath: '/var/lib/postgresql/data',
  });
  assert.is(dataMountOf(c, '/var/lib/postgresql/database'), undefined);
  assert.is(claimNameOf(workload('StatefulSet', 'pg', 'p', { volumeClaimTemplates: ['data'] }), 'data'), 'data-pg-0');
  assert.equal(
    managersOf(
      workload('StatefulSet', 'pg', 'p', {
        metadata: {
          name: 'pg',
          labels: { 'app.kubernetes.io/managed-by': 'Helm', 'argocd.argoproj.io/instance': 'circle' },
          annotations: { 'meta.helm.sh/release-name': 'circleci' },
        },
      }),
    ),
    ['Helm release circleci', 'Argo CD application circle'],
  );
});

test('selectors and quantities', () => {
  assert.equal(parseSelector('layer=application,tier=web'), { layer: 'application', tier: 'web' });
  assert.throws(() => parseSelector('layer'), /is not key=value/);
  assert.is(parseQuantity('8Gi'), 8 * 2 ** 30);
  assert.is(parseQuantity('500M'), 5e8);
  assert.throws(() => parseQuantity('lots'), /not a Kubernetes quantity/);
  assert.is(formatBytes(1536 * 2 ** 20), '1.5 GiB');
});

test("the downtime estimate counts this workload's grace periods and readiness probes", () => {
  const db = workload('StatefulSet', 'pg', 'postgres:13');
  (db.template.spec.containers[0] as { readinessProbe?: object }).readinessProbe = { periodSeconds: 2 };
  const app = workload('Deployment', 'frontend', 'busybox');
  app.template.spec.terminationGracePeriodSeconds = 30;
  (app.template.spec.containers[0] as { readinessProbe?: object }).readinessProbe = {
    initialDelaySeconds: 5,
    periodSeconds: 5,
  };
  const quick = workload('Deployment', 'worker', 'busybox', {});
  quick.template.spec.terminationGracePeriodSeconds = 2;
  const d = { workload: db, apps: [app, quick] } as unknown as Discovery;
  assert.equal(workloadWaits(d), { appGraceSeconds: 30, readinessSeconds: 12 });
  assert.equal(
    workloadWaits({ workload: workload('Deployment', 'x', 'postgres:13'), apps: [] } as unknown as Discovery),
    { appGraceSeconds: 0, readinessSeconds: 0 },
  );
});

test('the applications never include the database, even when the selector matches it too', () => {
  const labels = { 'app.kubernetes.io/part-of': 'shop' };
  const db = workload('StatefulSet', 'postgresql', 'bitnami/postgresql:13', {
    metadata: { name: 'postgresql', labels },
  });
  // listWorkloads returns new objects: the database comes back as an equal object, not the same one.
  const all = [
    { ...db, metadata: { ...db.metadata } },
    workload('Deployment', 'web', 'shop/web:1', { metadata: { name: 'web', labels } }),
    workload('Deployment', 'postgresql', 'shop/api:1', { metadata: { name: 'postgresql', labels } }),
    workload('Deployment', 'other', 'x:1'),
  ];
  assert.equal(
    appsOf(all, db, labels).map((w) => `${w.kind}/${w.metadata.name}`),
    ['Deployment/web', 'Deployment/postgresql'],
  );
});

test('a StatefulSet of several replicas is refused for an in-place upgrade; one replica, or a Deployment, is not', () => {
  const sts = (replicas: number) => workload('StatefulSet', 'pg', 'postgres:13', { replicas });
  assert.match(
    multiReplicaProblem(sts(3), 'ns') ?? '',
    /StatefulSet ns\/pg has 3 replicas, each with its own PVC.*--replicas=1/,
  );
  assert.is(multiReplicaProblem(sts(1), 'ns'), undefined);
  assert.is(multiReplicaProblem(workload('Deployment', 'pg', 'postgres:13', { replicas: 2 }), 'ns'), undefined);
});

test("the Helm values block that keeps the new image: nested under the subchart, as CircleCI Server's values.yaml has it", () => {
  const image = 'cciserver.azurecr.io/circleci/server-postgres:14.22.4094-4922444';
  const sub = workload('StatefulSet', 'postgresql', 'cciserver.azurecr.io/circleci/server-postgres:12.16.1', {
    metadata: {
      name: 'postgresql',
      labels: {
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/name': 'postgresql',
        'app.kubernetes.io/instance': 'circleci-server',
      },
      annotations: { 'meta.helm.sh/release-name': 'circleci-server' },
    },
  });
  assert.is(
    helmImageValues(sub, image),
    '# values.yaml of Helm release circleci-server: keeps ' +
      image +
      '\npostgresql:\n  image:\n    registry: cciserver.azurecr.io\n    repository: circleci/server-postgres\n    tag: 14.22.4094-4922444',
  );
  const own = workload('StatefulSet', 'pg', 'bitnami/postgresql:12', {
    metadata: {
      name: 'pg',
      labels: {
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/name': 'postgresql',
        'app.kubernetes.io/instance': 'postgresql',
      },
    },
  });
  assert.match(
    helmImageValues(own, 'bitnami/postgresql:14') ?? '',
    /\nimage:\n {2}registry: docker.io\n {2}repository: bitnami\/postgresql\n {2}tag: 14$/,
  );
  assert.is(
    helmImageValues(workload('Deployment', 'pg', 'postgres:12'), 'postgres:14'),
    undefined,
    'not Helm: nothing to print',
  );
  // The chart refuses an image it did not ship unless told: bitnamilegacy needs the global switch.
  assert.match(
    helmImageValues(own, 'bitnamilegacy/postgresql:14.18.0-debian-12-r0') ?? '',
    /repository: bitnamilegacy\/postgresql\n {2}tag: 14.18.0-debian-12-r0\nglobal:\n {2}security:\n {4}allowInsecureImages: true$/,
  );
});

test.run();
