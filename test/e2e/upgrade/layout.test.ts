import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { officialFixture, officialSecret } from '../../support/fixtures/official.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { podName, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { hostileRoleIsSuperuser } from '../../support/pg/hostile-role.ts';
import { withoutWrites } from '../../support/pg/writes.ts';
import { waitFor } from '../../support/process.ts';
import { assertNoSecret, deployCase, upgradeCli, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 18, acceptance 1: the official image's default layout, PGDATA at the root of a claim mounted at
// /var/lib/postgresql/data (no PGDATA), upgraded in place 15 → 17 and 17 → 18, where the test environment's
// postgres:18 refuses data at the old path as the real image does; a rollback after each puts the layout back.
const test = suite("PGDATA at the root of the volume: the official image's default layout, and 18's new one");
const PASSWORD = 'Layout-E2E-S3cret';
const outputs: RunResult[] = [];
const atRoot = (ns: string, password: string, major: number) => [
  officialSecret(ns, password),
  ...officialFixture({ namespace: ns, major, password, appReplicas: 1, pgdataAtRoot: true }),
];
const cases: Deployed[] = [15, 17].map((from) => {
  const to = from === 15 ? 17 : 18;
  return {
    name: `official ${from} → ${to}, PGDATA at the volume's root`,
    file: 'layout',
    flavour: 'official',
    from,
    to,
    method: 'link',
    objects: (ns: string, pw: string) => atRoot(ns, pw, from),
    ns: uniqueNamespace(`layout-${from}`),
    pod: '',
  } satisfies Deployed;
});

interface Layout {
  image: string;
  mountPath: string;
  pgdata: string | undefined;
}
async function layoutOf(cp: ControlPlane, ns: string): Promise<Layout> {
  const d = JSON.parse((await cp.kubectl(['-n', ns, 'get', 'deploy', 'postgres', '-o', 'json'])).stdout) as {
    spec: {
      template: {
        spec: {
          containers: Array<{
            image: string;
            env?: Array<{ name: string; value?: string }>;
            volumeMounts: Array<{ name: string; mountPath: string }>;
          }>;
        };
      };
    };
  };
  const c = d.spec.template.spec.containers[0];
  if (!c) throw new Error('no container');
  return {
    image: c.image,
    mountPath: c.volumeMounts.find((m) => m.name === 'pgdata')?.mountPath ?? '',
    pgdata: c.env?.find((e) => e.name === 'PGDATA')?.value,
  };
}

test("set up: official 15 and 17 Deployments with the data at the claim's root, seeded, fingerprinted, their applications writing", async () => {
  const { cp } = await sharedEnv();
  await Promise.all(cases.map((c) => deployCase(cp, c, PASSWORD)));
  for (const c of cases)
    assert.equal(await layoutOf(cp, c.ns), {
      image: `postgres:${c.from}`,
      mountPath: '/var/lib/postgresql/data',
      pgdata: undefined,
    });
});

test('check reports the layout as a warning that says what will change, not a refusal', async () => {
  const { cp } = await sharedEnv();
  for (const c of cases) {
    const r = await runAsync(
      requireBinary(),
      ['check', '-n', c.ns, '--to', String(c.to), '-o', 'json'],
      { KUBECONFIG: cp.kubeconfig },
      180_000,
    );
    outputs.push(r);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const layout = (
      JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; found: string }> }
    ).checks.find((x) => x.id === 'layout');
    assert.is(layout?.status, 'warn');
    assert.match(layout?.found ?? '', 'PGDATA /var/lib/postgresql/data is the root of its volume');
    assert.match(layout?.found ?? '', `PGDATA=/var/lib/postgresql/${c.to}/docker`);
  }
});

for (const c of cases) {
  test(`${c.name}: upgraded in place, the new server finds the data, the fingerprints equal; a rollback puts the original layout back`, async () => {
    const { cp } = await sharedEnv();
    const r = await upgradeCli(
      cp,
      ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y', '-o', 'json'],
      outputs,
    );
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.equal(await layoutOf(cp, c.ns), {
      image: `postgres:${c.to}`,
      mountPath: '/var/lib/postgresql',
      pgdata: `/var/lib/postgresql/${c.to}/docker`,
    });
    await verifyUpgraded(cp, c, r, outputs, '0', { keepNamespace: true });

    const rb = await runAsync(
      requireBinary(),
      ['upgrade', '-n', c.ns, '--rollback', '-y'],
      { KUBECONFIG: cp.kubeconfig },
      600_000,
    );
    outputs.push(rb);
    assert.is(rb.code, 0, rb.stdout + rb.stderr);
    assert.equal(await layoutOf(cp, c.ns), {
      image: `postgres:${c.from}`,
      mountPath: '/var/lib/postgresql/data',
      pgdata: undefined,
    });
    const pod = await podName(cp, c.ns, 'k8s-app=postgres');
    await waitReady(cp, c.ns, pod);
    const sql = podSql(cp, c.ns, pod, 'admin');
    assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), c.from);
    assert.is((await sql('postgres', 'show data_directory')).trim(), '/var/lib/postgresql/data');
    assert.equal(
      compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(await takeFingerprint(sql))),
      [],
    );
    // deployCase planted mallory (issue 24): --rollback's sessions on the restored source never ran her code either.
    assert.is(await hostileRoleIsSuperuser(sql), false, 'mallory is still NOSUPERUSER on the rolled-back source');
  });
}

test("the test environment's postgres:18 refuses the data at the old path, as the real image does (docker-library/postgres#1370)", async () => {
  const { cp } = await sharedEnv();
  const ns = (cases[1] as Deployed).ns;
  await cp.kubectl(['-n', ns, 'scale', 'deploy/postgres-app', '--replicas=0']);
  await cp.kubectl(['-n', ns, 'set', 'image', 'deploy/postgres', 'postgres=postgres:18']);
  await cp.kubectl(['-n', ns, 'scale', 'deploy/postgres', '--replicas=1']);
  let log = '';
  await waitFor(
    'the postgres:18 pod to refuse the 17 data',
    async () => {
      const pod = await podName(cp, ns, 'k8s-app=postgres').catch(() => '');
      if (!pod) return false;
      log =
        (await cp.kubectl(['-n', ns, 'logs', pod, '--previous'], { allowFail: true })).stdout +
        (await cp.kubectl(['-n', ns, 'logs', pod], { allowFail: true })).stdout;
      return log.includes('there appears to be PostgreSQL data in');
    },
    120_000,
  );
  assert.match(log, 'Error: in 18+, these Docker images are configured to store database data');
  assert.match(log, '/var/lib/postgresql/data');
  // check says what happened and the way out, and changes nothing.
  const r = await runAsync(requireBinary(), ['check', '-n', ns, '--to', '18'], { KUBECONFIG: cp.kubeconfig }, 180_000);
  outputs.push(r);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, 'its volume is mounted at /var/lib/postgresql/data, the layout up to PostgreSQL 17', r.stderr);
  assert.match(r.stderr, `kubectl -n ${ns} set image deployment/postgres postgres=postgres:<its major>`);
  assert.match(r.stderr, `upgrade -n ${ns} --to 18`);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 7);
});

test.after(async () => {
  await releaseNamespaces((await sharedEnv()).cp);
});

test.run();
