import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { officialFixture, officialSecret, ROLLING_WORST } from '../../support/fixtures/official.ts';
import { applyObjects, createNamespace, podName, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { assertNoSecret, deployCase, upgradeCli, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 18: credentials where real charts put them. The images' entrypoints in the test environment read envFrom
// and *_FILE as the real ones do; check must find the superuser's password the same way, or say what it needs.
const test = suite(
  'credentials where real charts put them: envFrom, *_FILE, a superuser not called postgres, an app user beside it',
);
const PASSWORD = 'Credentials-E2E-S3cret';
const APP_PASSWORD = 'Credentials-E2E-App-S3cret';
const outputs: RunResult[] = [];

type Obj = Record<string, any>;
const deploymentOf = (objs: Obj[]) =>
  objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'postgres') as Obj;
const statefulSetOf = (objs: Obj[]) => objs.find((o) => o.kind === 'StatefulSet') as Obj;

/** Kong's way with the official image: POSTGRES_USER=kong and its password only through `envFrom: secretRef`. */
function kongObjects(ns: string, password: string): Obj[] {
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'kong-postgres', namespace: ns },
    type: 'Opaque',
    stringData: { POSTGRES_USER: 'kong', POSTGRES_PASSWORD: password, POSTGRES_DB: 'kong' },
  };
  const objs: Obj[] = officialFixture({
    namespace: ns,
    major: 15,
    password,
    user: 'kong',
    secretName: 'kong-postgres',
    secretKey: 'POSTGRES_PASSWORD',
    appReplicas: 1,
  });
  const c = deploymentOf(objs).spec.template.spec.containers[0];
  c.env = c.env.filter((e: { name: string }) => !['POSTGRES_PASSWORD', 'POSTGRES_USER'].includes(e.name));
  c.envFrom = [{ secretRef: { name: 'kong-postgres' } }];
  return [secret, ...objs];
}

/**
 * Bitnami chart 16 with auth.username and usePasswordFiles (its defaults since 2024): an app user beside postgres,
 * both passwords only as files of the chart's Secret mounted at /opt/bitnami/postgresql/secrets.
 */
function chart16Objects(ns: string, password: string): Obj[] {
  const objs: Obj[] = bitnamiFixture({ namespace: ns, major: 13, password, appReplicas: 2 });
  const secret = objs.find((o) => o.kind === 'Secret') as Obj;
  secret.data.password = Buffer.from(APP_PASSWORD).toString('base64');
  const spec = statefulSetOf(objs).spec.template.spec;
  const c = spec.containers[0];
  c.env = [
    { name: 'POSTGRES_USER', value: 'app' },
    { name: 'POSTGRES_PASSWORD_FILE', value: '/opt/bitnami/postgresql/secrets/password' },
    { name: 'POSTGRES_POSTGRES_PASSWORD_FILE', value: '/opt/bitnami/postgresql/secrets/postgres-password' },
    { name: 'POSTGRES_DATABASE', value: 'appdb' },
    ...c.env.filter((e: { name: string }) => e.name !== 'POSTGRES_PASSWORD'),
  ];
  c.volumeMounts.push({ name: 'postgresql-password', mountPath: '/opt/bitnami/postgresql/secrets/' });
  spec.volumes = [{ name: 'postgresql-password', secret: { secretName: secret.metadata.name } }];
  return objs;
}

/**
 * The official image's own way: POSTGRES_PASSWORD_FILE, the Secret mounted as files (one key, renamed by items).
 * The Deployment is RollingUpdate at its worst (maxSurge 1, maxUnavailable 0), as many charts leave it.
 */
function fileObjects(ns: string, password: string): Obj[] {
  const objs: Obj[] = [
    officialSecret(ns, password),
    ...officialFixture({ namespace: ns, major: 14, password, appReplicas: 1, strategy: 'RollingUpdate' }),
  ];
  const spec = deploymentOf(objs).spec.template.spec;
  const c = spec.containers[0];
  c.env = [
    ...c.env.filter((e: { name: string }) => e.name !== 'POSTGRES_PASSWORD'),
    { name: 'POSTGRES_PASSWORD_FILE', value: '/run/secrets/postgres/password' },
  ];
  c.volumeMounts.push({ name: 'credentials', mountPath: '/run/secrets/postgres', readOnly: true });
  spec.volumes.push({
    name: 'credentials',
    secret: { secretName: 'postgres', items: [{ key: 'admin-pass', path: 'password' }] },
  });
  return objs;
}

const kong: Deployed = {
  name: 'official 15 → 17, kong, credentials only through envFrom',
  file: 'upgrade',
  flavour: 'official',
  from: 15,
  to: 17,
  method: 'link',
  superuser: 'kong',
  objects: kongObjects,
  ns: uniqueNamespace('cred-envfrom'),
  pod: '',
};
const chart16: Deployed = {
  name: 'Bitnami chart 16 13 → 15, app user, passwords only as mounted files',
  file: 'upgrade',
  flavour: 'bitnami',
  from: 13,
  to: 15,
  method: 'link',
  objects: chart16Objects,
  ns: uniqueNamespace('cred-files'),
  pod: '',
};
const file: Deployed = {
  name: 'official 14 → 16 Deployment, RollingUpdate (maxSurge 1, maxUnavailable 0), the superuser password only as POSTGRES_PASSWORD_FILE',
  file: 'upgrade',
  flavour: 'official',
  from: 14,
  to: 16,
  method: 'link',
  objects: fileObjects,
  ns: uniqueNamespace('cred-file'),
  pod: '',
};
const vault = uniqueNamespace('cred-vault');

async function cli(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const r = await runAsync(requireBinary(), args, { KUBECONFIG: cp.kubeconfig }, 300_000);
  outputs.push(r);
  return r;
}

/** The official image with POSTGRES_PASSWORD_FILE on an emptyDir that an init container fills, as secret injectors do. */
async function deployInjected(cp: ControlPlane): Promise<void> {
  await createNamespace(cp, vault);
  const objs: Obj[] = [
    officialSecret(vault, PASSWORD),
    ...officialFixture({ namespace: vault, major: 15, password: PASSWORD }),
  ];
  const spec = deploymentOf(objs).spec.template.spec;
  const c = spec.containers[0];
  c.env = [
    ...c.env.filter((e: { name: string }) => e.name !== 'POSTGRES_PASSWORD'),
    { name: 'POSTGRES_PASSWORD_FILE', value: '/vault/secrets/pw' },
  ];
  c.volumeMounts.push({ name: 'injected', mountPath: '/vault/secrets' });
  spec.volumes.push({ name: 'injected', emptyDir: {} }, { name: 'source', secret: { secretName: 'postgres' } });
  spec.initContainers = [
    {
      name: 'inject',
      image: 'busybox:1.36',
      command: ['sh', '-c', 'cp /source/admin-pass /vault/secrets/pw && chmod 644 /vault/secrets/pw'],
      volumeMounts: [
        { name: 'source', mountPath: '/source' },
        { name: 'injected', mountPath: '/vault/secrets' },
      ],
    },
  ];
  await applyObjects(cp, objs);
  await waitReady(cp, vault, await podName(cp, vault, 'k8s-app=postgres'));
}

test("set up: kong's envFrom Deployment, Bitnami chart 16 with password files, an official POSTGRES_PASSWORD_FILE, a file that an injector writes", async () => {
  const { cp } = await sharedEnv();
  await Promise.all([
    deployCase(cp, kong, PASSWORD),
    deployCase(cp, chart16, PASSWORD),
    deployCase(cp, file, PASSWORD),
    deployInjected(cp),
  ]);
  assert.ok(kong.before && chart16.before && file.before);
  // The entrypoints made what the variables asked: kong is the official image's superuser, app sits beside postgres.
  assert.is(
    (
      await cp.kubectl([
        '-n',
        chart16.ns,
        'exec',
        chart16.pod,
        '--',
        'psql',
        '-U',
        'postgres',
        '-Atc',
        "select rolsuper from pg_roles where rolname = 'app'",
      ])
    ).stdout.trim(),
    'f',
  );
});

test("check finds the superuser's password through envFrom (kong) and through mounted files (postgres beside app; admin), naming only Secret and key", async () => {
  const { cp } = await sharedEnv();
  for (const [c, superuser, secret] of [
    [kong, 'kong', 'kong-postgres/POSTGRES_PASSWORD'],
    [chart16, 'postgres', 'circleci-postgresql/postgres-password'],
    [file, 'admin', 'postgres/admin-pass'],
  ] as const) {
    const r = await cli(cp, ['check', '-n', c.ns, '--to', String(c.to), '-o', 'json']);
    const rep = JSON.parse(r.stdout) as {
      discovery: { superuser: { user: string; secret: string } };
      checks: Array<{ id: string; status: string; found: string }>;
    };
    assert.equal(rep.discovery.superuser, { user: superuser, secret }, r.stderr);
    const cred = rep.checks.find((x) => x.id === 'credentials');
    assert.is(cred?.status, 'pass', cred?.found);
    assert.is(r.code, 0, r.stdout + r.stderr);
  }
});

test('a password only an injector can read: check says which variables it followed and asks for --superuser-secret; with it, it connects', async () => {
  const { cp } = await sharedEnv();
  const r = await cli(cp, ['check', '-n', vault, '--to', '17']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, 'cannot find the password of the superuser admin');
  assert.match(
    r.stderr,
    'POSTGRES_PASSWORD_FILE=/vault/secrets/pw is on volume injected, which holds no Secret key at pw',
  );
  assert.match(r.stderr, '--superuser-secret <secret>/<key>');
  const bad = await cli(cp, ['check', '-n', vault, '--to', '17', '--superuser-secret', 'postgres']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, 'expected <secret name>/<key>');
  const missing = await cli(cp, ['check', '-n', vault, '--to', '17', '--superuser-secret', 'postgres/nope']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, `Secret ${vault}/postgres does not exist or has no key nope`);
  const ok = await cli(cp, [
    'check',
    '-n',
    vault,
    '--to',
    '17',
    '--superuser-secret',
    'postgres/admin-pass',
    '-o',
    'json',
  ]);
  const rep = JSON.parse(ok.stdout) as {
    discovery: { superuser: { secret: string } };
    checks: Array<{ id: string; status: string }>;
  };
  assert.is(rep.discovery.superuser.secret, 'postgres/admin-pass');
  assert.is(rep.checks.find((x) => x.id === 'credentials')?.status, 'pass');
  const snap = await cli(cp, ['snapshot', '-n', vault, '--superuser-secret', 'postgres/admin-pass']);
  assert.is(snap.code, 0, snap.stdout + snap.stderr);
});

/**
 * Samples, until stopped, how many database pods run at once and which strategy the Deployment has: what a
 * RollingUpdate with maxSurge 1 would do wrong is start a second server beside the first on the same volume.
 */
function watchDeployment(
  cp: ControlPlane,
  ns: string,
): { stop: () => Promise<{ mostRunning: number; strategies: string[] }> } {
  let running = true;
  let mostRunning = 0;
  const strategies = new Set<string>();
  const loop = (async () => {
    while (running) {
      const pods = await cp.rest
        .get<{ items: Array<{ status: { phase?: string } }> }>(
          `/api/v1/namespaces/${ns}/pods?labelSelector=k8s-app%3Dpostgres`,
        )
        .catch(() => ({ items: [] }));
      mostRunning = Math.max(mostRunning, pods.items.filter((p) => p.status.phase === 'Running').length);
      const d = await cp.rest
        .getOrNull<{ spec: { strategy: { type: string } } }>(`/apis/apps/v1/namespaces/${ns}/deployments/postgres`)
        .catch(() => undefined);
      if (d) strategies.add(d.spec.strategy.type);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { mostRunning, strategies: [...strategies].sort() };
    },
  };
}

for (const c of [kong, chart16, file]) {
  test(`${c.name}: upgraded in place, the fingerprints equal`, async () => {
    const { cp } = await sharedEnv();
    const restarts = (
      await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])
    ).stdout.trim();
    const watch = c === file ? watchDeployment(cp, c.ns) : undefined;
    const r = await upgradeCli(
      cp,
      ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y', '-o', 'json'],
      outputs,
    );
    const seen = await watch?.stop();
    if (seen) {
      assert.is(r.code, 0, r.stdout + r.stderr);
      const strategy = JSON.parse(
        (await cp.kubectl(['-n', c.ns, 'get', 'deploy', 'postgres', '-o', 'jsonpath={.spec.strategy}'])).stdout,
      ) as unknown;
      assert.equal(strategy, ROLLING_WORST, "the user's RollingUpdate is back, values and all");
      assert.equal(seen.strategies, ['Recreate', 'RollingUpdate'], 'Recreate while the database was stopped');
      assert.is(seen.mostRunning, 1, 'never two database pods at once');
    }
    await verifyUpgraded(cp, c, r, outputs, restarts);
  });
}

test('no secret value appears in any output or in the apiserver audit log', async () => {
  const { cp } = await sharedEnv();
  assertNoSecret(cp, outputs, PASSWORD, 10);
  assertNoSecret(cp, outputs, APP_PASSWORD, 10);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
