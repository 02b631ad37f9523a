import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  releaseNamespaces,
  resourceVersions,
  waitReady,
} from '../../support/kube/helpers.ts';
import { officialFixture, officialSecret } from '../../support/fixtures/official.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { waitFor } from '../../support/process.ts';
import { IMAGE_MAP_ENV } from '../../support/sandbox/image-map.ts';
import { assertNoSecret, deployCase, upgradeCli, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 18, acceptance 7 (first part): Bitnami's layout under a vendor's repository name. The plugin must judge the
// layout from the pod; the test environment learns the vendor's image from one line of PGUPGRADE_TEST_IMAGE_MAP.
// Acceptance 3: an Alpine source (musl) going to a Debian image (glibc) in place, with libc and with C collations.
const test = suite(
  "images as people run them: a Bitnami-layout StatefulSet under a vendor's repository name; Alpine's musl against glibc",
);
const PASSWORD = 'Vendor-E2E-S3cret';
const FROM_IMAGE = 'quay.io/devtron/postgres:14.9.0-debian-11-r31';
const TO_IMAGE = 'quay.io/devtron/postgres:16.4.0-debian-12-r0';
const outputs: RunResult[] = [];
const mapBefore = process.env[IMAGE_MAP_ENV];
const c: Deployed = {
  name: "Devtron's image 14 → 16, link",
  file: 'vendor',
  flavour: 'bitnami',
  from: 14,
  to: 16,
  method: 'link',
  image: FROM_IMAGE,
  flags: ['--image', TO_IMAGE],
  ns: uniqueNamespace('vendor-devtron'),
  pod: '',
};

test("set up: the vendor's image is one line of the image map; the database is seeded, fingerprinted, its application writing", async () => {
  const { cp } = await sharedEnv();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-map-')), 'images.yaml');
  fs.writeFileSync(file, '- { repository: quay.io/devtron/postgres, layout: bitnami }\n');
  process.env[IMAGE_MAP_ENV] = file;
  await deployCase(cp, c, PASSWORD);
  const image = await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.spec.containers[0].image}']);
  assert.is(image.stdout, FROM_IMAGE);
});

test("check judges Bitnami's layout from the pod, not from the repository's name", async () => {
  const { cp } = await sharedEnv();
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', c.ns, '--to', String(c.to), '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    180_000,
  );
  outputs.push(r);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const d = (JSON.parse(r.stdout) as { discovery: { image: string; flavour: string; layout: string; pgdata: string } })
    .discovery;
  assert.equal([d.image, d.flavour, d.pgdata], [FROM_IMAGE, 'bitnami', '/bitnami/postgresql/data']);
  assert.is(d.layout, 'PGDATA /bitnami/postgresql/data is under /bitnami');
});

test("upgrade without --image says that the vendor's tag for 16 cannot be known, and changes nothing", async () => {
  const { cp } = await sharedEnv();
  const before = await resourceVersions(cp, c.ns);
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y'], outputs);
  assert.is(r.code, 2, `${r.stdout}\n${r.stderr}`);
  assert.match(
    r.stderr,
    `runs ${FROM_IMAGE}, a vendor's repository (bitnami layout: PGDATA /bitnami/postgresql/data is under /bitnami) whose tag for PostgreSQL 16`,
  );
  assert.match(r.stderr, "pass --image <the vendor's image for 16>");
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test(`${c.name} with --image: upgraded in place, the fingerprints equal, the vendor's new image in place`, async () => {
  const { cp } = await sharedEnv();
  const restarts = (
    await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])
  ).stdout.trim();
  const r = await upgradeCli(
    cp,
    ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y', '-o', 'json', ...(c.flags ?? [])],
    outputs,
  );
  const image = await cp.kubectl([
    '-n',
    c.ns,
    'get',
    'sts',
    'circleci-postgresql',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  ]);
  assert.is(image.stdout, TO_IMAGE);
  await verifyUpgraded(cp, c, r, outputs, restarts);
});

const alpine = uniqueNamespace('alpine-libc'); // the official images' entrypoint starts as root: not restricted

/** An Alpine Deployment on postgres:15-alpine whose cluster initdb made with LC_ALL: en_US.utf8 is a libc collation. */
function alpineObjects(name: string, locale: string): Array<Record<string, any>> {
  const objs = officialFixture({
    namespace: alpine,
    name,
    major: 15,
    password: PASSWORD,
    image: 'postgres:15-alpine',
  }) as Array<Record<string, any>>;
  const c = objs.find((o) => o.kind === 'Deployment')?.spec.template.spec.containers[0];
  c.env = c.env.map((e: { name: string; value?: string }) =>
    e.name === 'LC_ALL' ? { name: 'LC_ALL', value: locale } : e,
  );
  return objs;
}

async function check(
  cp: ControlPlane,
  args: string[],
): Promise<{ r: RunResult; libc?: { status: string; found: string; fix?: string }; uid?: number | null }> {
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', alpine, '--to', '17', '-o', 'json', ...args],
    { KUBECONFIG: cp.kubeconfig },
    180_000,
  );
  outputs.push(r);
  const rep = r.stdout
    ? (JSON.parse(r.stdout) as {
        checks: Array<{ id: string; status: string; found: string; fix?: string }>;
        discovery: { runtime: { uid: number | null } };
      })
    : undefined;
  return { r, libc: rep?.checks.find((x) => x.id === 'libc'), uid: rep?.discovery.runtime.uid };
}

test("set up: two postgres:15-alpine Deployments, one initdb'd in en_US.utf8, one in C; postgres is UID 70", async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, alpine);
  await applyObjects(cp, [
    officialSecret(alpine, PASSWORD),
    ...alpineObjects('postgres-libc', 'en_US.utf8'),
    ...alpineObjects('postgres-c', 'C'),
  ]);
  for (const [name, collate] of [
    ['postgres-libc', 'en_US.utf8'],
    ['postgres-c', 'C'],
  ]) {
    const pod = await podName(cp, alpine, `k8s-app=${name}`);
    await waitReady(cp, alpine, pod);
    assert.is(
      (
        await podSql(
          cp,
          alpine,
          pod,
          'admin',
        )('postgres', 'select datcollate from pg_database where datname = current_database()')
      ).trim(),
      collate,
    );
    assert.is(
      (
        await cp.kubectl(['-n', alpine, 'exec', pod, '--', 'stat', '-c', '%u', '/var/lib/postgresql/data/pgdata'])
      ).stdout.trim(),
      '70',
    );
  }
});

test('alpine → Debian with libc collations: check fails (exit 3) naming the databases and the dump method; upgrade refuses; the default target stays Alpine', async () => {
  const { cp } = await sharedEnv();
  const bad = await check(cp, ['deploy/postgres-libc', '--image', 'postgres:17']);
  assert.is(bad.r.code, 3, bad.r.stdout + bad.r.stderr);
  assert.is(bad.libc?.status, 'fail');
  assert.match(bad.libc?.found ?? '', 'postgres:15-alpine (musl) → postgres:17 (glibc)');
  assert.match(bad.libc?.found ?? '', 'database postgres (LC_COLLATE en_US.utf8)');
  assert.match(bad.libc?.fix ?? '', '--method dump');
  assert.match(bad.libc?.fix ?? '', '--image postgres:17-alpine');
  const before = await resourceVersions(cp, alpine);
  const up = await upgradeCli(
    cp,
    ['-n', alpine, 'deploy/postgres-libc', '--to', '17', '--image', 'postgres:17', '-y'],
    outputs,
  );
  assert.is(up.code, 3, up.stdout + up.stderr);
  assert.match(up.stderr, 'preflight failed; nothing was changed');
  assert.match(up.stderr, 'libc: postgres:15-alpine (musl) → postgres:17 (glibc)');
  assert.match(up.stderr, '--method dump');
  assert.is(await resourceVersions(cp, alpine), before, 'nothing changed');
  const same = await check(cp, ['deploy/postgres-libc']);
  assert.is(same.libc?.status, 'pass', same.libc?.found);
  assert.match(same.libc?.found ?? '', 'postgres:15-alpine (musl) → postgres:17-alpine (musl): the same C library');
  assert.is(same.r.code, 0, same.r.stdout + same.r.stderr);
});

test('alpine → Debian with C collations passes; a column under en_US.utf8 fails it, named', async () => {
  const { cp } = await sharedEnv();
  const ok = await check(cp, ['deploy/postgres-c', '--image', 'postgres:17']);
  assert.is(ok.libc?.status, 'pass', ok.libc?.found);
  assert.is(ok.r.code, 0, ok.r.stdout + ok.r.stderr);
  const sql = podSql(cp, alpine, await podName(cp, alpine, 'k8s-app=postgres-c'), 'admin');
  await sql(
    'postgres',
    "CREATE COLLATION english (provider = libc, locale = 'en_US.utf8'); CREATE TABLE names (n text COLLATE english PRIMARY KEY)",
  );
  const col = await check(cp, ['deploy/postgres-c', '--image', 'postgres:17']);
  assert.is(col.r.code, 3);
  assert.match(col.libc?.found ?? '', 'database postgres: columns or indexes under COLLATE "english" (en_US.utf8)');
  await sql('postgres', 'DROP TABLE names; DROP COLLATION english');
});

test("a stopped alpine source: the probe pod runs as the image's postgres, UID 70, and reads the volume", async () => {
  const { cp } = await sharedEnv();
  await cp.kubectl(['-n', alpine, 'scale', 'deploy/postgres-c', '--replicas=0']);
  await waitFor(
    'the alpine database pod gone',
    async () =>
      (await cp.kubectl(['-n', alpine, 'get', 'pods', '-l', 'k8s-app=postgres-c', '-o', 'name'])).stdout.trim() === '',
    60_000,
  );
  const r = await check(cp, ['deploy/postgres-c', '--image', 'postgres:17']);
  assert.is(r.uid, 70, r.r.stdout + r.r.stderr);
  assert.is(r.libc?.status, 'pass', r.libc?.found);
  assert.is(r.r.code, 0, r.r.stdout + r.r.stderr);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 10);
});

test.after(async () => {
  if (mapBefore === undefined) delete process.env[IMAGE_MAP_ENV];
  else process.env[IMAGE_MAP_ENV] = mapBefore;
  await releaseNamespaces((await sharedEnv()).cp);
});

test.run();
