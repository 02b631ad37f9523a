import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { replicasOf, selectorOf, validateJson, viaService } from '../../support/dump-checks.ts';
import { podName, podSql, recordedState, releaseNamespaces } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { SEED_ROLES } from '../../support/pg/seed.ts';
import {
  assertWritesPresent,
  committedWrites,
  countWrites,
  waitForWrites,
  withoutWrites,
} from '../../support/pg/writes.ts';
import { assertNoSecret, deployCase, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 14, acceptance 2: leaving the Bitnami image family (UID 1001, /bitnami/postgresql/data, POSTGRESQL_* variables)
// for the official image by dump: the new instance takes the official layout (UID 999, PGDATA under /var/lib/postgresql),
// in the namespace's Pod Security `restricted` profile, which the Bitnami chart's pods pass.
const test = suite(
  'upgrade --method dump --target-image postgres:17: a Bitnami StatefulSet on 15 into a new official-image instance',
);
const PASSWORD = 'Dump-Family-S3cret';
const APP = 'circleci-frontend';
const TARGET = 'circleci-postgresql-v17';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'Bitnami 15 → official 17 by dump',
  file: 'majors',
  flavour: 'bitnami',
  from: 15,
  to: 17,
  method: 'link',
  ns: uniqueNamespace('dump-family'),
  pod: '',
};

interface PodSpec {
  securityContext?: { runAsUser?: number; runAsGroup?: number; fsGroup?: number; runAsNonRoot?: boolean };
  containers: Array<{
    image: string;
    env?: Array<{ name: string; value?: string }>;
    securityContext?: { runAsUser?: number };
    volumeMounts: Array<{ mountPath: string }>;
  }>;
}

test('set up: the Bitnami-shaped StatefulSet on 15 in a restricted namespace, seeded, its application writing', async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, c, PASSWORD);
  const ns = JSON.parse(
    (await cp.kubectl(['get', 'namespace', c.ns, '-o', 'jsonpath={.metadata.labels}'])).stdout,
  ) as Record<string, string>;
  assert.is(ns['pod-security.kubernetes.io/enforce'], 'restricted');
  assert.is(
    (await cp.kubectl(['-n', c.ns, 'exec', c.pod, '--', 'id', '-u'])).stdout.trim(),
    '1001',
    "the source runs as Bitnami's 1001",
  );
});

test('--target-image postgres:17: the new instance runs as 999 with the official layout, equal data, every write there, validate passes', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(
    cp,
    ['-n', c.ns, '--to', '17', '--method', 'dump', '--target-image', 'postgres:17', '-y', '-o', 'json'],
    outputs,
  );
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const rep = JSON.parse(r.stdout) as {
    newInstance: string;
    fingerprint: { equal: boolean };
    validation: { summary: { fail: number } };
  };
  assert.is(rep.newInstance, `StatefulSet/${TARGET}`);
  assert.ok(rep.fingerprint.equal);
  assert.is(rep.validation.summary.fail, 0, "the upgrade ends with validate's checks, all passing");
  assert.is((await recordedState(cp, c.ns))?.phase, 'done');
  assert.equal(
    await selectorOf(cp, c.ns, 'circleci-postgresql'),
    { 'pgupgrade.kubectl.io/instance': TARGET },
    'the Service is cut over',
  );
  assert.is(await replicasOf(cp, c.ns, 'sts/circleci-postgresql'), 0, 'the old instance is scaled to 0');
  assert.is(await replicasOf(cp, c.ns, `deploy/${APP}`), 2, 'the application is back at its count');

  // The official layout: its image, UID 999, PGDATA under /var/lib/postgresql, its variables and none of Bitnami's.
  const pod = await podName(cp, c.ns, `pgupgrade.kubectl.io/instance=${TARGET}`);
  const spec = JSON.parse(
    (await cp.kubectl(['-n', c.ns, 'get', 'pod', pod, '-o', 'jsonpath={.spec}'])).stdout,
  ) as PodSpec;
  const ctr = spec.containers[0] as PodSpec['containers'][number];
  assert.is(ctr.image, 'postgres:17');
  assert.is(spec.securityContext?.runAsUser, 999);
  assert.is(spec.securityContext?.runAsGroup, 999);
  assert.is(spec.securityContext?.runAsNonRoot, true);
  assert.equal(
    ctr.volumeMounts.map((m) => m.mountPath),
    ['/var/lib/postgresql/data'],
  );
  const env = Object.fromEntries((ctr.env ?? []).map((e) => [e.name, e.value]));
  assert.is(env.PGDATA, '/var/lib/postgresql/data/pgdata');
  assert.is(env.POSTGRES_USER, 'postgres');
  assert.equal(
    Object.keys(env).filter((k) => k.startsWith('POSTGRESQL_')),
    [],
    'no Bitnami variable',
  );
  assert.is(
    (await cp.kubectl(['-n', c.ns, 'exec', pod, '--', 'id', '-u'])).stdout.trim(),
    '999',
    'the server runs as 999',
  );
  const sql = podSql(cp, c.ns, pod, 'postgres');
  assert.is((await sql('postgres', 'show data_directory')).trim(), '/var/lib/postgresql/data/pgdata');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 17);

  // The one difference: the new instance's own superuser has its Secret's password as 17's initdb hashes it (SCRAM);
  // Bitnami's initdb had stored it as md5. Every database (template1 and postgres too: their locale is the source's) equal.
  assert.equal(
    compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(await takeFingerprint(sql)), {
      extensionUpdates: true,
    }),
    ['role postgres: password md5 → scram-sha-256'],
    'the data is equal',
  );
  assert.match(r.stdout, "the target's own superuser differs, as it should");
  const writes = await waitForWrites(cp, c.ns, { app: APP, major: 17, moreThan: 3 });
  assert.ok((countWrites(writes).byMajor[15] ?? 0) > 10, JSON.stringify(countWrites(writes)));
  await assertWritesPresent(sql, await committedWrites(cp, c.ns, APP));
  for (const role of [SEED_ROLES.md5, SEED_ROLES.scram]) {
    assert.match(
      await viaService(cp, c.ns, pod, 'circleci-postgresql', role, 'app2'),
      /^17\d{4}$/,
      `${role.name} reaches 17 through the Service`,
    );
  }
  const v = await validateJson(cp, c.ns, outputs);
  assert.is(v.code, 0, `${JSON.stringify(v.checks, null, 1)}\n${v.stderr}`);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 2);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
