import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture, restoredBitnami } from '../../support/fixtures/bitnami.ts';
import { applyObjects, createNamespace, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { assertWritesPresent, committedWrites, withoutWrites } from '../../support/pg/writes.ts';
import { waitFor } from '../../support/process.ts';

const test = suite('the Bitnami-shaped StatefulSet on the real control plane and node agent');
const ns = uniqueNamespace('bitnami');
const pod = 'circleci-postgresql-0';
const pvc = 'data-circleci-postgresql-0';

test('PG 13 as UID 1001 becomes Ready in a restricted namespace; exec and logs work; a root pod is rejected', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await applyObjects(cp, bitnamiFixture({ namespace: ns, major: 13, password: 'bitnami-e2e-pass' }));
  await waitReady(cp, ns, pod);
  const v = await cp.kubectl(['-n', ns, 'exec', pod, '--', 'psql', '-U', 'postgres', '-c', 'select version()']);
  assert.match(v.stdout, 'PostgreSQL 13.');
  const id = await cp.kubectl(['-n', ns, 'exec', pod, '--', 'id', '-u']);
  assert.is(id.stdout.trim(), '1001');
  const logs = await cp.kubectl(['-n', ns, 'logs', pod]);
  assert.match(logs.stdout, 'database system is ready to accept connections');
  const root = await cp.kubectl(
    [
      '-n',
      ns,
      'run',
      'rooty',
      '--image=busybox',
      '--restart=Never',
      '--overrides',
      JSON.stringify({ spec: { securityContext: { runAsUser: 0 } } }),
      '--',
      'sleep',
      '1',
    ],
    { allowFail: true },
  );
  assert.is.not(root.code, 0);
  assert.match(root.stderr, 'violates PodSecurity "restricted');
  const sts = await cp.rest.get<{ status: { readyReplicas?: number } }>(
    `/apis/apps/v1/namespaces/${ns}/statefulsets/circleci-postgresql`,
  );
  assert.is(sts.status.readyReplicas, 1, 'the StatefulSet controller saw the pod Ready');
});

test('scale to 0: SIGTERM, clean shutdown, VolumeAttachment removed; scale to 1: same data, no recovery', async () => {
  const { cp } = await sharedEnv();
  const sql = podSql(cp, ns, pod, 'postgres');
  await seedCluster(sql, { rows: 200 });
  const before = await takeFingerprint(sql);
  const pv = (await cp.kubectl(['-n', ns, 'get', 'pvc', pvc, '-o', 'jsonpath={.spec.volumeName}'])).stdout;
  const attachments = async () =>
    (
      await cp.kubectl([
        'get',
        'volumeattachments',
        '-o',
        `jsonpath={.items[?(@.spec.source.persistentVolumeName=="${pv}")].metadata.name}`,
      ])
    ).stdout.trim();
  assert.is.not(await attachments(), '', 'the running pod has its VolumeAttachment');
  await cp.kubectl(['-n', ns, 'scale', 'sts/circleci-postgresql', '--replicas=0']);
  await cp.kubectl(['-n', ns, 'wait', '--for=delete', `pod/${pod}`, '--timeout=60s']);
  await waitFor('the VolumeAttachment to go', async () => (await attachments()) === '', 30_000);
  await cp.kubectl(['-n', ns, 'scale', 'sts/circleci-postgresql', '--replicas=1']);
  await waitFor(
    'the pod to come back',
    async () => (await cp.kubectl(['-n', ns, 'get', 'pod', pod], { allowFail: true })).code === 0,
    30_000,
  );
  await waitReady(cp, ns, pod);
  const logs = (await cp.kubectl(['-n', ns, 'logs', pod])).stdout;
  assert.not.match(logs, 'not properly shut down', 'no crash recovery: the SIGTERM shutdown was clean');
  assert.not.match(logs, 'automatic recovery in progress');
  // The application writes all along: its table is checked by its journal, the rest by the fingerprint.
  assert.equal(compareFingerprints(withoutWrites(before), withoutWrites(await takeFingerprint(sql))), []);
  await assertWritesPresent(sql, await committedWrites(cp, ns));
});

test('a VolumeSnapshot becomes readyToUse; a PVC restored from it runs PG 13 with the same fingerprint', async () => {
  const { cp } = await sharedEnv();
  const sql = podSql(cp, ns, pod, 'postgres');
  await sql('postgres', 'CHECKPOINT');
  const before = await takeFingerprint(sql);
  await applyObjects(cp, [
    {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'snap1', namespace: ns },
      spec: { source: { persistentVolumeClaimName: pvc } },
    },
  ]);
  await cp.kubectl([
    '-n',
    ns,
    'wait',
    '--for=jsonpath={.status.readyToUse}=true',
    'volumesnapshot/snap1',
    '--timeout=60s',
  ]);
  const vs = await cp.rest.get<{
    status: { restoreSize: string; boundVolumeSnapshotContentName: string; creationTime: string };
  }>(`/apis/snapshot.storage.k8s.io/v1/namespaces/${ns}/volumesnapshots/snap1`);
  assert.ok(Number(vs.status.restoreSize) > 0 && vs.status.creationTime, JSON.stringify(vs.status));
  assert.ok(
    await cp.rest.getOrNull(
      `/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/${vs.status.boundVolumeSnapshotContentName}`,
    ),
  );
  await applyObjects(
    cp,
    restoredBitnami({ namespace: ns, release: 'restored', major: 13, password: 'bitnami-e2e-pass', snapshot: 'snap1' }),
  );
  await waitFor(
    'the restored pod',
    async () => (await cp.kubectl(['-n', ns, 'get', 'pod', 'restored-postgresql-0'], { allowFail: true })).code === 0,
    60_000,
  );
  await waitReady(cp, ns, 'restored-postgresql-0');
  assert.equal(
    compareFingerprints(
      withoutWrites(before),
      withoutWrites(await takeFingerprint(podSql(cp, ns, 'restored-postgresql-0', 'postgres'))),
    ),
    [],
  );
  await cp.kubectl(['-n', ns, 'delete', 'sts', 'restored-postgresql', '--wait=false']);
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
