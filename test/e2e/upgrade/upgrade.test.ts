import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { officialFixture, officialSecret } from '../../support/fixtures/official.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  releaseNamespaces,
  resourceVersions,
  waitReady,
} from '../../support/kube/helpers.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { waitFor } from '../../support/process.ts';
import { CaseQueue } from '../../support/case-queue.ts';
import { auditedCreations, planDrift, plannedCreations, PLUGIN_AGENT } from '../../support/planned-created.ts';
import { casesOf, upgradeCli, verifyUpgraded, assertNoSecret, type Deployed } from '../../support/upgrade-cases.ts';

const test = suite('kubectl pgupgrade upgrade in place, on real PostgreSQL pods');
const PASSWORD = 'Upgrade-E2E-S3cret';
const outputs: RunResult[] = [];

type Case = Deployed;
const CASES: Case[] = casesOf('upgrade');
const upgrade = (cp: ControlPlane, args: string[]) => upgradeCli(cp, args, outputs);
let queue: CaseQueue;

test('set up: the first of eight databases, seeded and fingerprinted (each of the others one turn ahead of its own test)', async () => {
  const { cp, agent } = await sharedEnv();
  // Where the machine cannot mount an XFS loop filesystem there is no reflink class: the clone case then runs on
  // local-path and must be refused with the reason (below), and the log says why.
  if (!('storageClass' in agent.reflink)) {
    process.stderr.write(
      `\n  no reflink StorageClass here (${agent.reflink.reason}): the clone case checks the refusal instead\n`,
    );
    for (const c of CASES) if (c.method === 'clone') c.storageClassName = undefined;
  }
  queue = new CaseQueue(cp, CASES, PASSWORD);
  const first = await queue.turn(CASES[0] as Case);
  assert.is(CASES.length, 8);
  assert.ok(first.before && Object.keys(first.before.perDb).length >= 4);
});

test('--dry-run prints the Job, the snapshot and every patch in order, and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const c = CASES[0] as Case;
  const before = await resourceVersions(cp, c.ns);
  const r = await upgrade(cp, ['-n', c.ns, '--to', '15', '--dry-run']);
  assert.is(r.code, 0, r.stderr);
  // stdout holds the plan alone (it can be piped into a file); the task lines go to stderr.
  assert.not.match(r.stdout, /^[✔❯↓] /m, r.stdout);
  assert.match(r.stderr, '✔ Judge the preflight and plan the upgrade');
  const steps = [...r.stdout.matchAll(/^step: (.*)$/gm)].map((m) => m[1]);
  assert.equal(steps, [
    'record of the upgrade, updated after each phase',
    'the record key of the namespace, made on first use, which seals every record (its value never shown)',
    'the Lease that keeps a second run off this workload, renewed while this one runs',
    'scale the application down',
    'stop the database',
    'snapshot of the stopped data volume',
    'once the applications are back, the snapshot restored to a temporary PVC, read by a throwaway pod, both deleted',
    'the throwaway pod that reads the copy (non-root, restricted), deleted with it',
    'reference fingerprint, read from the snapshot',
    'the upgrade Job',
    'point the workload at the new major',
    'start the database',
    'scale the application back up',
  ]);
  assert.match(r.stdout, 'kind: Job');
  assert.match(r.stdout, 'runAsNonRoot: true');
  assert.match(r.stdout, 'image: tianon/postgres-upgrade:13-to-15');
  assert.match(r.stdout, 'image: bitnamilegacy/postgresql:15.10.0-debian-12-r2');
  assert.not.match(r.stdout + r.stderr, PASSWORD);
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('bad input exits 2 and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const c = CASES[0] as Case;
  const before = await resourceVersions(cp, c.ns);
  const cases: Array<[string[], RegExp]> = [
    [['-n', c.ns, '--to', '13', '-y'], /--to 13|not greater|is not above|must be above/],
    [['-n', c.ns, '--to', '15', '--method', 'rsync', '-y'], /Invalid values|method/],
    [['-n', c.ns, 'deploy/circleci-frontend', '--to', '15', '-y'], /does not run PostgreSQL/],
    [['-n', c.ns, '--to', '15', '--method', 'clone', '-y'], /--method clone needs a filesystem that can clone/],
    [['-n', c.ns, '--to', '15', '--image', 'x', '--method', 'swap', '-y'], /--method swap needs --to 18/],
    [['-n', c.ns, '--to', '15'], /confirm with -y/],
    [
      ['-n', c.ns, '--to', '17', '--image', 'bitnami/postgresql:16', '-y'],
      /--image bitnami\/postgresql:16 runs PostgreSQL 16 \(its tag says so\), but --to is 17/,
    ],
    [
      ['-n', c.ns, '--to', '15', '--image', 'bitnami/postgresql:15 --debug', '-y'],
      /--image "bitnami\/postgresql:15 --debug": an image reference holds no spaces/,
    ],
    [
      ['-n', c.ns, '--to', '15', '--job-image', 'tianon/postgres-upgrade:14-to-15', '-y'],
      /--job-image .* upgrades 14 to 15 .* from 13 to 15/,
    ],
    [
      ['-n', c.ns, '--to', '15', '--app-selector', '', '-y'],
      /--app-selector "": an empty selector matches every workload/,
    ],
    [['-n', c.ns, '--to', '15', '--app-selector', 'tier!=db', '-y'], /"tier!=db" is not an equality term/],
  ];
  for (const [args, msg] of cases) {
    const r = await upgrade(cp, args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, msg, args.join(' '));
  }
  assert.is(await resourceVersions(cp, c.ns), before, 'nothing changed');
});

test('a vendor image without --image, and a volume that is not ReadWriteOnce, are refused before any downtime', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('up-vendor');
  await createNamespace(cp, ns);
  const objs = [officialSecret(ns, PASSWORD), ...officialFixture({ namespace: ns, major: 13, password: PASSWORD })];
  const dep = objs.find((o) => o.kind === 'Deployment') as {
    spec: { template: { spec: { containers: Array<{ image: string }> } } };
  };
  (dep.spec.template.spec.containers[0] as { image: string }).image = 'registry.example.com/acme/acme-postgres:13';
  (dep as unknown as { metadata: { labels?: Record<string, string> } }).metadata.labels = {
    'app.kubernetes.io/name': 'postgresql',
  };
  await applyObjects(cp, objs);
  const r = await upgrade(cp, ['-n', ns, '--to', '15', '-y']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /pass --image .* or --no-patch-workload/);
  const ns2 = uniqueNamespace('up-rwx');
  await createNamespace(cp, ns2);
  const objs2 = [officialSecret(ns2, PASSWORD), ...officialFixture({ namespace: ns2, major: 13, password: PASSWORD })];
  (objs2.find((o) => o.kind === 'PersistentVolumeClaim') as { spec: { accessModes: string[] } }).spec.accessModes = [
    'ReadWriteMany',
  ];
  await applyObjects(cp, objs2);
  await waitReady(cp, ns2, await podName(cp, ns2, 'k8s-app=postgres'));
  const before = await resourceVersions(cp, ns2);
  const r2 = await upgrade(cp, ['-n', ns2, '--to', '15', '-y']);
  assert.is(r2.code, 2, r2.stdout + r2.stderr);
  assert.match(r2.stderr, /not ReadWriteOnce/);
  assert.is(await resourceVersions(cp, ns2), before);
});

test('a StatefulSet of two replicas is refused before any downtime: exit 2, nothing changed', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('up-replicas');
  await createNamespace(cp, ns);
  const objs = bitnamiFixture({ namespace: ns, major: 13, password: PASSWORD });
  (objs.find((o) => o.kind === 'StatefulSet') as { spec: { replicas: number } }).spec.replicas = 2;
  await applyObjects(cp, objs);
  for (const pod of ['circleci-postgresql-0', 'circleci-postgresql-1']) {
    await waitFor(
      `pod ${pod}`,
      async () => (await cp.kubectl(['-n', ns, 'get', 'pod', pod], { allowFail: true })).code === 0,
      60_000,
    );
    await waitReady(cp, ns, pod);
  }
  const before = await resourceVersions(cp, ns);
  const r = await upgrade(cp, ['-n', ns, '--to', '15', '-y']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /has 2 replicas, each with its own PVC/);
  assert.is(await resourceVersions(cp, ns), before);
});

for (const c of CASES) {
  test(`${c.name}: the new major runs, the data is equal, the apps are back, the snapshot exists`, async () => {
    const { cp } = await sharedEnv();
    await queue.turn(c);
    assert.ok(c.before && Object.keys(c.before.perDb).length >= 4, c.name);
    // A database that restarted before the upgrade ran crash recovery, which moves sequences ahead of the
    // fingerprint taken at set-up: say so in a failure, so that it is not taken for the upgrade's doing.
    const restarts = (
      await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.status.containerStatuses[0].restartCount}'])
    ).stdout.trim();
    const args = ['-n', c.ns, '--to', String(c.to), '--method', c.method, ...(c.flags ?? [])];
    // The first case is planned with --dry-run first, and its plan held against what the run creates (below).
    const plan = c === CASES[0] ? await upgrade(cp, [...args, '--dry-run', '-o', 'yaml']) : undefined;
    const since = new Date();
    const r = await upgrade(cp, [...args, '-y', '-o', 'json']);
    if (plan) assertPlanHeld(cp, c.ns, plan, since);
    if (c.method === 'clone' && !c.storageClassName) {
      assert.is(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, '--method clone needs a filesystem that can clone files');
      await queue.done(c);
      return;
    }
    await verifyUpgraded(cp, c, r, outputs, restarts);
  });
}

/** Every object the run created (the apiserver's audit log says) was in the dry run's plan, and every planned one was made. */
function assertPlanHeld(cp: ControlPlane, ns: string, plan: RunResult, since: Date): void {
  assert.is(plan.code, 0, plan.stderr);
  const created = auditedCreations(cp, ns, since, PLUGIN_AGENT);
  assert.ok(created.length >= 3, `only ${created.length} creations audited in ${ns}`);
  assert.equal(planDrift(plannedCreations(plan.stdout), created), { unplanned: [], missing: [] });
}

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 10);
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
