import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { podName, podSql, releaseNamespaces, resourceVersions } from '../../support/kube/helpers.ts';
import { takeFingerprint } from '../../support/pg/fingerprint.ts';
import { hostileRoleIsSuperuser, plantHostileLoadTraps } from '../../support/pg/hostile-role.ts';
import { assertNoSecret, deployCase, upgradeCli, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 24, §1: a load by pg_restore would evaluate mallory's CHECKs, her domain's CHECK and her generated column
// per row as the new instance's superuser (test/e2e/pg/hostile-load.test.ts shows it). check names them for
// --method dump, the dump refuses before any downtime, and the in-place method, which never evaluates them, upgrades.
const test = suite(
  "upgrade --method dump refuses a user's code that the load would run as superuser; in place upgrades",
);
const PASSWORD = 'Dump-Hostile-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: "official 13 → 15, mallory's load traps",
  file: 'upgrade',
  flavour: 'official',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('dump-hostile'),
  pod: '',
};
const TRAPS = [
  'CHECK mallory_checked_x_check of table public.mallory_checked calls public.mallory_ok(integer), owned by mallory',
  'CHECK mallory_int_check of domain public.mallory_int calls public.mallory_ok(integer), owned by mallory',
  'generated column public.mallory_generated.y calls public.mallory_gen(integer), owned by mallory',
  'partition key of table public.mallory_parts calls public.mallory_gen(integer), owned by mallory',
];

const svcVersions = async (cp: ControlPlane) =>
  (
    await cp.kubectl([
      '-n',
      c.ns,
      'get',
      'services',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}',
    ])
  ).stdout;
const sql = async (cp: ControlPlane) => podSql(cp, c.ns, await podName(cp, c.ns, 'k8s-app=postgres'), 'admin');

test('set up: an official 13 Deployment, seeded, mallory and her load traps in her database, the application writing', async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, c, PASSWORD);
  await plantHostileLoadTraps(podSql(cp, c.ns, c.pod, 'admin'));
  // Her new tables are part of the data the upgrade must keep.
  c.before = await takeFingerprint(podSql(cp, c.ns, c.pod, 'admin'));
});

test('check --method dump fails on them (exit 3), naming each object, the function and its owner, with the statements and the in-place way', async () => {
  const { cp } = await sharedEnv();
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', c.ns, '--to', '15', '--method', 'dump', '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    180_000,
  );
  outputs.push(r);
  assert.is(r.code, 3, r.stdout + r.stderr);
  const f = (
    JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; found: string; fix?: string }> }
  ).checks.find((x) => x.id === 'load-code');
  assert.is(f?.status, 'fail', JSON.stringify(f));
  assert.match(f?.found ?? '', 'mallorys (5): ');
  for (const t of TRAPS) assert.match(f?.found ?? '', t);
  assert.match(f?.fix ?? '', 'upgrade in place (--method link or copy');
  assert.match(f?.fix ?? '', 'in mallorys: ALTER TABLE public.mallory_checked DROP CONSTRAINT mallory_checked_x_check');
  const inPlace = await runAsync(
    requireBinary(),
    ['check', '-n', c.ns, '--to', '15', '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    180_000,
  );
  outputs.push(inPlace);
  assert.not.ok(
    (JSON.parse(inPlace.stdout) as { checks: Array<{ id: string }> }).checks.some((x) => x.id === 'load-code'),
    'the in-place check does not ask',
  );
  assert.is(await hostileRoleIsSuperuser(await sql(cp)), false, 'check read them without running them');
});

test('upgrade --method dump refuses before any downtime: exit 2, what and where and what to do, nothing changed; --force does not pass it', async () => {
  const { cp } = await sharedEnv();
  const before = (await resourceVersions(cp, c.ns)) + (await svcVersions(cp));
  for (const extra of [[], ['--force', 'load-code']]) {
    const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--method', 'dump', '-y', ...extra], outputs);
    assert.is(r.code, 2, `${extra.join(' ')}: ${r.stdout}\n${r.stderr}`);
    assert.match(
      r.stderr,
      "--method dump refused: pg_restore would evaluate these per row as the new instance's superuser",
    );
    for (const t of TRAPS) assert.match(r.stderr, t);
    assert.match(r.stderr, 'Nothing was changed');
  }
  assert.is((await resourceVersions(cp, c.ns)) + (await svcVersions(cp)), before, 'nothing changed');
  assert.is(await hostileRoleIsSuperuser(await sql(cp)), false);
});

test('in place (link), the way the refusal advises: upgraded, her rows and generated values intact, mallory still NOSUPERUSER', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  await verifyUpgraded(cp, c, r, outputs, '0', { keepNamespace: true });
  const s = await sql(cp);
  assert.is((await s('mallorys', 'select pg_catalog.sum(y) from public.mallory_generated')).trim(), '15');
  assert.is(await hostileRoleIsSuperuser(s), false);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 6);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
