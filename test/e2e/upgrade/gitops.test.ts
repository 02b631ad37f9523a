import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { startHealer } from '../../support/gitops-healer.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  recordedState,
  releaseNamespaces,
  waitReady,
} from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { assertWritesPresent, committedWrites, waitForWrites, withoutWrites } from '../../support/pg/writes.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';

// A self-healing controller (test/support/gitops-healer.ts) on the database and its application: seen by its
// markers, the upgrade is refused before anything stops; hidden, the run stops before pg_upgrade, and the old
// server never runs beside the upgrade Job.
const test = suite('upgrade beside a self-healing GitOps controller');
const PASSWORD = 'GitOps-E2E-S3cret';
const POD = 'circleci-postgresql-0';
const STS = 'circleci-postgresql';
const SELECTOR = 'app.kubernetes.io/name=postgresql';
const JOB = 'pgupgrade-circleci-postgresql-to-15';

async function deploy(cp: ControlPlane, ns: string, annotations: Record<string, string> = {}): Promise<Fingerprint> {
  await createNamespace(cp, ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  const objs = bitnamiFixture({ namespace: ns, major: 13, password: PASSWORD });
  for (const o of objs.filter((x) => x.kind === 'StatefulSet' || x.kind === 'Deployment')) {
    const meta = o.metadata as { annotations?: Record<string, string> };
    meta.annotations = { ...meta.annotations, ...annotations };
  }
  await applyObjects(cp, objs);
  await waitReady(cp, ns, await podName(cp, ns, SELECTOR));
  const sql = podSql(cp, ns, POD, 'postgres');
  await seedCluster(sql, { rows: 50 });
  await waitForWrites(cp, ns, { major: 13, moreThan: 5 });
  return takeFingerprint(sql);
}

const replicas = async (cp: ControlPlane, ns: string, what: string) =>
  (await cp.kubectl(['-n', ns, 'get', what, '-o', 'jsonpath={.spec.replicas}'])).stdout.trim();

test('Argo CD markers on the database and its application: refused before any downtime, with the pause command', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('gitops-argo');
  await deploy(cp, ns, { 'argocd.argoproj.io/tracking-id': 'shop:apps/StatefulSet:x/y' });
  const healer = startHealer(cp.rest, ns, { manager: 'argocd-controller' });
  try {
    const r = await runAsync(
      requireBinary(),
      ['upgrade', '-n', ns, '--to', '15', '-y'],
      { KUBECONFIG: cp.kubeconfig },
      300_000,
    );
    const out = r.stdout + r.stderr;
    assert.is(r.code, 2, out);
    assert.match(out, 'Argo CD Application shop manages StatefulSet circleci-postgresql');
    assert.match(
      out,
      `kubectl patch application shop -n argocd --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`,
    );
    assert.match(out, '--gitops-paused');
    assert.is(await replicas(cp, ns, `sts/${STS}`), '1');
    assert.is(await replicas(cp, ns, 'deploy/circleci-frontend'), '1');
    assert.is(await recordedState(cp, ns), undefined, 'no record: nothing started');
    assert.equal(healer.healed, [], 'nothing was scaled down for the controller to heal');
    const dump = await runAsync(
      requireBinary(),
      ['upgrade', '-n', ns, '--to', '15', '--method', 'dump', '-y'],
      { KUBECONFIG: cp.kubeconfig },
      300_000,
    );
    assert.is(dump.code, 2, dump.stdout + dump.stderr);
    assert.match(dump.stdout + dump.stderr, 'Argo CD Application shop manages Deployment circleci-frontend');
    // --gitops-paused: the user says the controller is paused; the plan goes on past the refusal (a dry run changes nothing).
    const paused = await runAsync(
      requireBinary(),
      ['upgrade', '-n', ns, '--to', '15', '--gitops-paused', '--dry-run'],
      { KUBECONFIG: cp.kubeconfig },
      300_000,
    );
    assert.is(paused.code, 0, paused.stdout + paused.stderr);
    assert.is(await replicas(cp, ns, `sts/${STS}`), '1');
    const check = await runAsync(
      requireBinary(),
      ['check', '-n', ns, '--to', '15'],
      { KUBECONFIG: cp.kubeconfig },
      300_000,
    );
    assert.match(check.stdout + check.stderr, /kubectl patch application shop/);
  } finally {
    await healer.stop();
  }
});

/** Samples the namespace's pods until stopped: was a database pod ever running beside an upgrade Job's pod? */
function watchOverlap(cp: ControlPlane, ns: string): { stop: () => Promise<string[]> } {
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const pods = await cp.rest
        .get<{
          items: Array<{ metadata: { name: string; labels?: Record<string, string> }; status: { phase?: string } }>;
        }>(`/api/v1/namespaces/${ns}/pods`)
        .catch(() => ({ items: [] }));
      const live = pods.items.filter((p) => p.status.phase === 'Running' || p.status.phase === 'Pending');
      const db = live
        .filter((p) => p.metadata.labels?.['app.kubernetes.io/name'] === 'postgresql')
        .map((p) => p.metadata.name);
      const job = live.filter((p) => p.metadata.labels?.['job-name'] === JOB).map((p) => p.metadata.name);
      if (db.length && job.length) seen.push(`${db.join(',')} beside ${job.join(',')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

test('a controller hidden from detection restores the replicas: the run stops before pg_upgrade, never beside the Job, data intact', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('gitops-hidden');
  const before = await deploy(cp, ns);
  // It heals the database alone: the applications stop, then the database's scale-down is undone within a second.
  const healer = startHealer(cp.rest, ns, { hidden: true, manager: 'self-healer', only: [`StatefulSet/${STS}`] });
  const overlap = watchOverlap(cp, ns);
  let r;
  try {
    r = await runAsync(
      requireBinary(),
      ['upgrade', '-n', ns, '--to', '15', '-y', '--timeout', '120'],
      { KUBECONFIG: cp.kubeconfig },
      300_000,
    );
  } finally {
    await healer.stop();
  }
  const beside = await overlap.stop();
  const out = r.stdout + r.stderr;
  assert.is(r.code, 1, out);
  assert.match(out, 'something else started what the upgrade stopped', out);
  assert.match(
    out,
    `StatefulSet ${ns}/${STS} has 1 replicas again (spec.replicas set by field manager self-healer)`,
    out,
  );
  assert.match(out, /pg_upgrade did not start|no pg_upgrade/, out);
  assert.ok(
    healer.healed.some((h) => h.startsWith(`StatefulSet/${STS}`)),
    `the controller healed: ${healer.healed.join('; ')}`,
  );
  assert.equal(beside, [], 'the old server never ran beside the Job');
  const job = await cp.kubectl(['-n', ns, 'get', 'job', JOB], { allowFail: true });
  assert.ok(job.code !== 0, 'no upgrade Job was created');
  // The data is as it was: the old server (13) runs it, with every seeded row and every write the application saw committed.
  await waitReady(cp, ns, POD);
  const sql = podSql(cp, ns, POD, 'postgres');
  assert.is((await sql('postgres', 'show server_version_num')).trim().slice(0, 2), '13');
  assert.equal(compareFingerprints(withoutWrites(before), withoutWrites(await takeFingerprint(sql))), []);
  await assertWritesPresent(sql, await committedWrites(cp, ns));
});

test('a hidden controller that heals only once the upgrade Job runs: its pod cannot start the old server on the held directory, the run names the manager, a re-run completes', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('gitops-late');
  const before = await deploy(cp, ns);
  let jobRuns = false;
  let watching = true;
  const healer = startHealer(cp.rest, ns, {
    hidden: true,
    manager: 'late-healer',
    only: [`StatefulSet/${STS}`],
    armed: () => jobRuns,
  });
  const arm = (async () => {
    while (watching && !jobRuns) {
      const pods = await cp.rest
        .get<{ items: Array<{ status: { phase?: string } }> }>(
          `/api/v1/namespaces/${ns}/pods?labelSelector=job-name%3D${JOB}`,
        )
        .catch(() => ({ items: [] }));
      jobRuns = pods.items.some((p) => p.status.phase === 'Running');
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  let r;
  try {
    r = await runAsync(
      requireBinary(),
      ['upgrade', '-n', ns, '--to', '15', '-y', '--timeout', '120'],
      { KUBECONFIG: cp.kubeconfig },
      300_000,
    );
  } finally {
    watching = false;
    await arm;
    await healer.stop();
  }
  const out = r.stdout + r.stderr;
  assert.ok(jobRuns, `the upgrade Job ran: ${out}`);
  assert.is(r.code, 1, out);
  assert.match(out, 'while the upgrade Job ran');
  assert.match(out, `StatefulSet ${ns}/${STS} has 1 replicas again (spec.replicas set by field manager late-healer)`);
  assert.match(out, 'could not start the old server there');
  const stray = await cp.kubectl(['-n', ns, 'logs', POD], { allowFail: true });
  assert.not.match(
    stray.stdout,
    'ready to accept connections',
    `the stray pod never ran a server: ${stray.stdout}${stray.stderr}`,
  );
  await cp.kubectl(['-n', ns, 'scale', `sts/${STS}`, '--replicas=0']);
  await cp.kubectl(['-n', ns, 'wait', '--for=delete', `pod/${POD}`, '--timeout=120s'], { allowFail: true });
  const again = await runAsync(
    requireBinary(),
    ['upgrade', '-n', ns, '--to', '15', '-y', '--timeout', '120'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  assert.is(again.code, 0, again.stdout + again.stderr);
  await waitReady(cp, ns, POD);
  const sql = podSql(cp, ns, POD, 'postgres');
  assert.is((await sql('postgres', 'show server_version_num')).trim().slice(0, 2), '15');
  // update_extensions.sql moves hstore 1.7 → 1.8 on 15: that is the upgrade's, not a change to the data.
  assert.equal(
    compareFingerprints(withoutWrites(before), withoutWrites(await takeFingerprint(sql)), { extensionUpdates: true }),
    [],
  );
  await assertWritesPresent(sql, await committedWrites(cp, ns));
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
