import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { releaseNamespaces, resourceVersions } from '../../support/kube/helpers.ts';
import { IMAGE_MAP_ENV } from '../../support/sandbox/image-map.ts';
import { assertNoSecret, deployCase, upgradeCli, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 18, acceptance 7 (first part): Bitnami's layout under a vendor's repository name. The plugin must judge the
// layout from the pod; the test environment learns the vendor's image from one line of PGUPGRADE_TEST_IMAGE_MAP.
const test = suite('a Bitnami-layout StatefulSet under a vendor\'s repository name');
const PASSWORD = 'Vendor-E2E-S3cret';
const FROM_IMAGE = 'quay.io/devtron/postgres:14.9.0-debian-11-r31';
const TO_IMAGE = 'quay.io/devtron/postgres:16.4.0-debian-12-r0';
const outputs: RunResult[] = [];
const mapBefore = process.env[IMAGE_MAP_ENV];
const c: Deployed = { name: 'Devtron\'s image 14 → 16, link', file: 'vendor', flavour: 'bitnami', from: 14, to: 16, method: 'link', image: FROM_IMAGE,
  flags: ['--image', TO_IMAGE], ns: uniqueNamespace('vendor-devtron'), pod: '' };

test('set up: the vendor\'s image is one line of the image map; the database is seeded, fingerprinted, its application writing', async () => {
  const { cp } = await sharedEnv();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-map-')), 'images.yaml');
  fs.writeFileSync(file, '- { repository: quay.io/devtron/postgres, layout: bitnami }\n');
  process.env[IMAGE_MAP_ENV] = file;
  await deployCase(cp, c, PASSWORD);
  const image = await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.spec.containers[0].image}']);
  assert.is(image.stdout, FROM_IMAGE);
});

test('check judges Bitnami\'s layout from the pod, not from the repository\'s name', async () => {
  const { cp } = await sharedEnv();
  const r = await runAsync(requireBinary(), ['check', '-n', c.ns, '--to', String(c.to), '-o', 'json'], { KUBECONFIG: cp.kubeconfig }, 180_000);
  outputs.push(r);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const d = (JSON.parse(r.stdout) as { discovery: { image: string; flavour: string; layout: string; pgdata: string } }).discovery;
  assert.equal([d.image, d.flavour, d.pgdata], [FROM_IMAGE, 'bitnami', '/bitnami/postgresql/data']);
  assert.is(d.layout, 'PGDATA /bitnami/postgresql/data is under /bitnami');
});

test('upgrade without --image says that the vendor\'s tag for 16 cannot be known, and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const before = await resourceVersions(cp, c.ns);
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y'], outputs);
  assert.is(r.code, 2, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, `runs ${FROM_IMAGE}, a vendor's repository (bitnami layout: PGDATA /bitnami/postgresql/data is under /bitnami) whose tag for PostgreSQL 16`);
  assert.match(r.stderr, 'pass --image <the vendor\'s image for 16>');
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test(`${c.name} with --image: upgraded in place, the fingerprints equal, the vendor's new image in place`, async () => {
  const { cp } = await sharedEnv();
  const restarts = (await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])).stdout.trim();
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y', '-o', 'json', ...(c.flags ?? [])], outputs);
  const image = await cp.kubectl(['-n', c.ns, 'get', 'sts', 'circleci-postgresql', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
  assert.is(image.stdout, TO_IMAGE);
  await verifyUpgraded(cp, c, r, outputs, restarts);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 4);
});

test.after(async () => {
  if (mapBefore === undefined) delete process.env[IMAGE_MAP_ENV];
  else process.env[IMAGE_MAP_ENV] = mapBefore;
  await releaseNamespaces((await sharedEnv()).cp);
});

test.run();
