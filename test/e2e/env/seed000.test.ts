import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { officialFixture, officialSecret } from '../../support/fixtures/official.ts';
import { seed000Job, SEED000_SCRIPT } from '../../support/fixtures/seed000.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  releaseNamespaces,
  waitReady,
} from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';

const test = suite('the seed 000 dump/restore Job between two official-image Deployments');

test("the seed's own majors: pg_dumpall from postgres:12 by Service DNS name, loaded into postgres:14; the data matches", async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('seed000');
  await createNamespace(cp, ns);
  const password = 'seed000-admin-pass';
  await applyObjects(cp, [
    officialSecret(ns, password),
    ...officialFixture({ namespace: ns, major: 12, password }),
    ...officialFixture({ namespace: ns, name: 'postgres-v14', major: 14, user: 'pg-14-admin', password }),
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'pgdata-migrate', namespace: ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'pg-dump-script', namespace: ns },
      data: { 'pg_dump.sh': SEED000_SCRIPT },
    },
  ]);
  const [oldPod, newPod] = [await podName(cp, ns, 'k8s-app=postgres'), await podName(cp, ns, 'k8s-app=postgres-v14')];
  await waitReady(cp, ns, oldPod);
  await waitReady(cp, ns, newPod);
  // No pod restarted on its first start, and the seed's users connect as admin to their default database, which
  // the entrypoint created from POSTGRES_USER (POSTGRES_DB's default), as the real image does.
  const restarts = await cp.kubectl([
    '-n',
    ns,
    'get',
    'pods',
    '-o',
    'jsonpath={.items[*].status.containerStatuses[*].restartCount}',
  ]);
  assert.ok(
    restarts.stdout
      .trim()
      .split(/\s+/)
      .every((n) => n === '0'),
    `restarts: ${restarts.stdout}`,
  );
  for (const [pod, u] of [
    [oldPod, 'admin'],
    [newPod, 'pg-14-admin'],
  ] as const) {
    const db = await cp.kubectl(
      ['-n', ns, 'exec', pod, '--', 'psql', '-U', u, '-A', '-t', '-c', 'select current_database()'],
      { allowFail: true },
    );
    assert.is(db.stdout.trim(), u, `${pod}: ${db.stderr}`);
  }
  const oldSql = podSql(cp, ns, oldPod, 'admin');
  await seedCluster(oldSql, { rows: 200 });
  const before = await takeFingerprint(oldSql);
  await applyObjects(cp, [seed000Job(ns, 12, 14)]);
  await cp.kubectl(['-n', ns, 'wait', '--for=condition=Complete', 'job/pg-update', '--timeout=180s']);
  const after = await takeFingerprint(podSql(cp, ns, newPod, 'pg-14-admin'));
  // The new instance has its own superuser and its default database besides what was loaded.
  delete after.roles['pg-14-admin'];
  delete after.databases['pg-14-admin'];
  delete after.perDb['pg-14-admin'];
  assert.equal(compareFingerprints(before, after, { extensionUpdates: true }), []);
  const logs = await cp.kubectl(['-n', ns, 'logs', 'job/pg-update', '-c', 'pgdump']);
  assert.match(logs.stdout, 'Dumping Old database');
  assert.not.match(
    logs.stdout + (await cp.kubectl(['-n', ns, 'logs', 'job/pg-update', '-c', 'new-db'])).stdout,
    password,
  );
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
