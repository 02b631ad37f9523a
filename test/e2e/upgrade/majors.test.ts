import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
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
import { CaseQueue } from '../../support/case-queue.ts';
import {
  BITNAMI_18,
  casesOf,
  CIRCLECI_14,
  upgradeCli,
  verifyUpgraded,
  assertNoSecret,
  type Deployed,
} from '../../support/upgrade-cases.ts';
import { pairTraps } from '../../../src/postgres/versions.ts';

// The majors beyond the first four (issue 13): the seeds' own 12 → 14, and 14 and 16 as sources and targets.
const test = suite("upgrade across the majors, the seeds' own 12 → 14 first");
const PASSWORD = 'Majors-E2E-S3cret';
const outputs: RunResult[] = [];
const CASES: Deployed[] = casesOf('majors');

async function restartsIn(cp: ControlPlane, ns: string): Promise<Record<string, number>> {
  const r = await cp.kubectl([
    '-n',
    ns,
    'get',
    'pods',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[*].restartCount}{"\\n"}{end}',
  ]);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => [
        l.split('=')[0],
        Number(
          l
            .split('=')[1]
            ?.split(' ')
            .reduce((a, b) => a + Number(b), 0),
        ),
      ]),
  );
}

let queue: CaseQueue;

// Each case's database is deployed one turn ahead of its own test (case-queue.ts), the first at set-up.
test('set up: the first of seven databases of majors 12, 14 and 16, seeded, fingerprinted, its applications writing', async () => {
  const { cp } = await sharedEnv();
  assert.is(CASES.length, 7);
  queue = new CaseQueue(cp, CASES, PASSWORD);
  await firstStart(cp, await queue.turn(CASES[0] as Deployed));
});

/** The case is deployed: every database there, and no fixture pod restarted on its first start. */
async function firstStart(cp: ControlPlane, c: Deployed): Promise<void> {
  assert.ok(c.before && Object.keys(c.before.perDb).length >= 4, c.name);
  // The official image's entrypoint once failed to create POSTGRES_DB.
  for (const [pod, n] of Object.entries(await restartsIn(cp, c.ns)))
    assert.is(n, 0, `${c.ns}/${pod} restarted ${n} times on its first start`);
}

/** check names the traps of the case's pair before any downtime. */
async function checkTraps(cp: ControlPlane, c: Deployed): Promise<void> {
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', c.ns, '--to', String(c.to), '--method', c.method, '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    180_000,
  );
  outputs.push(r);
  assert.is(r.code, 0, `${c.name}: ${r.stdout}\n${r.stderr}`);
  const ids = new Set((JSON.parse(r.stdout) as { checks: Array<{ id: string }> }).checks.map((x) => x.id));
  for (const t of pairTraps(c.from, c.to))
    assert.ok(ids.has(t.id), `${c.name}: check does not name ${t.id} (${t.what})`);
  if (c.from === 12) assert.ok(ids.has('postfix-operators'), 'from 12, postfix operators');
  if (c.to === 18) assert.ok(ids.has('initdb') && ids.has('passwords'), 'at 18, checksums and md5');
}

/** Seed 000's users connect as admin to their default database, which the entrypoint created. */
async function seed000Login(cp: ControlPlane, c: Deployed): Promise<void> {
  const r = await cp.kubectl(
    ['-n', c.ns, 'exec', c.pod, '--', 'psql', '-U', 'admin', '-A', '-t', '-c', 'select current_database()'],
    { allowFail: true },
  );
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'admin');
}

test('a jump that no published upgrade image spans (12 → 18) is refused before any downtime, with the ways that work', async () => {
  const { cp } = await sharedEnv();
  const c = CASES.find((x) => x.circleci) as Deployed;
  const before = await resourceVersions(cp, c.ns);
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', c.ns, '--to', '18', '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    180_000,
  );
  outputs.push(r);
  assert.is(r.code, 3, r.stdout + r.stderr);
  const path = (JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; found: string }> }).checks.find(
    (x) => x.id === 'upgrade-path',
  );
  assert.is(path?.status, 'fail');
  assert.match(path?.found ?? '', 'no published tianon/postgres-upgrade image upgrades 12 to 18');
  assert.match(path?.found ?? '', '--to 17, then --to 18');
  // With an image for 18 named (a vendor's repository has no default tag), the refusal is the path's.
  const up = await upgradeCli(cp, ['-n', c.ns, '--to', '18', '--image', BITNAMI_18, '-y'], outputs);
  assert.ok(up.code === 2 || up.code === 3, `${up.stdout}\n${up.stderr}`);
  assert.match(up.stderr, 'no published tianon/postgres-upgrade image upgrades 12 to 18');
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('an 11 server: check finds tables WITH OIDS and columns of types removed in 12, before any downtime', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('mj-pg11');
  await createNamespace(cp, ns);
  await applyObjects(cp, [
    officialSecret(ns, PASSWORD),
    ...officialFixture({ namespace: ns, major: 11, password: PASSWORD }),
  ]);
  const pod = await podName(cp, ns, 'k8s-app=postgres');
  await waitReady(cp, ns, pod);
  const sql = podSql(cp, ns, pod, 'admin');
  await sql(
    'admin',
    'CREATE TABLE legacy (id int, at abstime) WITH OIDS; INSERT INTO legacy VALUES (1, now()::abstime)',
  );
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', ns, '--to', '14', '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    180_000,
  );
  outputs.push(r);
  assert.is(r.code, 3, r.stdout + r.stderr);
  const checks = (JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; found: string }> }).checks;
  const by = (id: string) => checks.find((x) => x.id === id);
  assert.is(by('with-oids')?.status, 'fail');
  assert.match(by('with-oids')?.found ?? '', 'admin (1)');
  assert.is(by('removed-types')?.status, 'fail');
  assert.is(by('sql-identifier')?.status, 'pass');
  await releaseNamespaces(cp, [ns]);
});

for (const c of CASES) {
  test(`${c.name}: check names the pair's traps; the new major runs, the data is equal, the apps are back, the snapshot exists`, async () => {
    const { cp } = await sharedEnv();
    await firstStart(cp, await queue.turn(c));
    await checkTraps(cp, c);
    if (c.flavour === 'official' && c.from === 12) await seed000Login(cp, c);
    const restarts = (
      await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])
    ).stdout.trim();
    const r = await upgradeCli(
      cp,
      ['-n', c.ns, '--to', String(c.to), '--method', c.method, '-y', '-o', 'json', ...(c.flags ?? [])],
      outputs,
    );
    const rep = await verifyUpgraded(cp, c, r, outputs, restarts);
    if (c.circleci) {
      // Helm would put the old image back on the next `helm upgrade`: the report prints the seed's values block.
      assert.match(
        rep.helmValues ?? '',
        `postgresql:\n  image:\n    registry: cciserver.azurecr.io\n    repository: circleci/server-postgres\n    tag: ${CIRCLECI_14.split(':').pop()}`,
      );
    }
  });
}

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 14);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
