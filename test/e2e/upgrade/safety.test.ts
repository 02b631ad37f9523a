import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { requireBinary, runAsync } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { READY_DELAY_ANNOTATION } from '../../support/agent/storage.ts';
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
import { clearPg17Attver } from '../../support/pg/upgrade.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { BITNAMI_18 } from '../../support/upgrade-cases.ts';

// The point of no return, driven for real: the new server may start only when a way back exists, and a rollback
// decides from the record, never from what runs at the moment it is asked.
const test = suite('upgrade safety: the snapshot before the point of no return, and rollback from the record');
const PASSWORD = 'Safety-E2E-S3cret';
const POD = 'circleci-postgresql-0';
const SELECTOR = 'app.kubernetes.io/name=postgresql';

async function deploy(
  cp: ControlPlane,
  ns: string,
  major: number,
  opts: { readyDelaySeconds?: number; checksums?: boolean } = {},
): Promise<Fingerprint> {
  await createNamespace(cp, ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  const objs = bitnamiFixture({
    namespace: ns,
    major,
    password: PASSWORD,
    initdbArgs: opts.checksums ? '--data-checksums' : undefined,
  });
  if (opts.readyDelaySeconds) {
    const sts = objs.find((o) => o.kind === 'StatefulSet') as {
      spec: { volumeClaimTemplates: Array<{ metadata: { annotations?: Record<string, string> } }> };
    };
    for (const t of sts.spec.volumeClaimTemplates)
      t.metadata.annotations = { [READY_DELAY_ANNOTATION]: String(opts.readyDelaySeconds) };
  }
  await applyObjects(cp, objs);
  // The StatefulSet makes its pod a moment after the apply: wait for it to exist, then to be ready.
  await waitReady(cp, ns, await podName(cp, ns, 'app.kubernetes.io/name=postgresql'));
  const sql = podSql(cp, ns, POD, 'postgres');
  await seedCluster(sql, { rows: 100 });
  if (major === 17) await clearPg17Attver(sql, ['postgres', 'template1', 'app1', 'app2']);
  await waitForWrites(cp, ns, { major, moreThan: 5 });
  return takeFingerprint(sql);
}

/** The seeded data equals `before` (the writer's table aside), and every write the application saw committed is there. */
async function assertWhole(cp: ControlPlane, ns: string, before: Fingerprint, label: string): Promise<void> {
  const sql = podSql(cp, ns, POD, 'postgres');
  assert.equal(
    compareFingerprints(withoutWrites(before), withoutWrites(await takeFingerprint(sql)), { extensionUpdates: true }),
    [],
    label,
  );
  await assertWritesPresent(sql, await committedWrites(cp, ns));
}

async function majorOf(cp: ControlPlane, ns: string): Promise<number> {
  await waitReady(cp, ns, await podName(cp, ns, SELECTOR));
  return Math.floor(
    Number((await podSql(cp, ns, POD, 'postgres')('postgres', 'show server_version_num')).trim()) / 10000,
  );
}

async function phaseOf(cp: ControlPlane, ns: string): Promise<string> {
  return (await recordedState(cp, ns))?.phase ?? '';
}

/** Runs the plugin; `watch` is polled every 200 ms and may kill it. */
function runWatched(
  cp: ControlPlane,
  args: string[],
  watch: (kill: (sig: NodeJS.Signals) => void) => Promise<boolean>,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(requireBinary(), args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: cp.kubeconfig },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let live = true;
  const loop = (async () => {
    while (live && !(await watch((sig) => child.kill(sig)))) await new Promise((r) => setTimeout(r, 200));
  })();
  return new Promise((res) =>
    child.on('close', (code) => {
      live = false;
      void loop.then(() => res({ code, out }));
    }),
  );
}

/**
 * Watches, while an upgrade runs, for a database pod of the new major, and notes whether the upgrade's snapshot
 * was ready to use when it was first seen. Returns a function that says what was seen.
 */
function startWatchingFirstStart(
  cp: ControlPlane,
  ns: string,
  newImage: RegExp,
): { stop: () => Promise<{ sawNewPod: boolean; readyFirst: boolean }> } {
  let live = true;
  const seen = { sawNewPod: false, readyFirst: false };
  const loop = (async () => {
    while (live && !seen.sawNewPod) {
      const pods = await cp.kubectl(
        [
          '-n',
          ns,
          'get',
          'pods',
          '-l',
          SELECTOR,
          '-o',
          'jsonpath={range .items[*]}{.spec.containers[0].image}{"\\n"}{end}',
        ],
        { allowFail: true },
      );
      if (pods.stdout.split('\n').some((i) => newImage.test(i))) {
        const snaps = await cp.kubectl(
          ['-n', ns, 'get', 'volumesnapshots', '-o', 'jsonpath={range .items[*]}{.status.readyToUse}{"\\n"}{end}'],
          { allowFail: true },
        );
        seen.sawNewPod = true;
        seen.readyFirst =
          snaps.stdout.trim() !== '' &&
          snaps.stdout
            .trim()
            .split('\n')
            .every((s) => s === 'true');
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  return {
    stop: async () => {
      live = false;
      await loop;
      return seen;
    },
  };
}

test('link: the new server starts only once the snapshot is ready to use, also on a resumed run', async () => {
  const { cp } = await sharedEnv();
  const bin = requireBinary();
  const env = { KUBECONFIG: cp.kubeconfig };
  const [a, b] = [uniqueNamespace('safe-ready'), uniqueNamespace('safe-ready-resume')];
  // The storage takes 40 s to make the snapshot ready, as a cloud's upload does: longer than the Job.
  const [beforeA, beforeB] = await Promise.all([
    deploy(cp, a, 13, { readyDelaySeconds: 40 }),
    deploy(cp, b, 13, { readyDelaySeconds: 40 }),
  ]);
  const watchA = startWatchingFirstStart(cp, a, /postgresql:15/);
  const watchB = startWatchingFirstStart(cp, b, /postgresql:15/);
  const [ra, first] = await Promise.all([
    runAsync(bin, ['upgrade', '-n', a, '--to', '15', '--method', 'link', '-y'], env, 600_000),
    runWatched(cp, ['upgrade', '-n', b, '--to', '15', '--method', 'link', '-y'], async (kill) => {
      // After the Job, before the new server's start: the run waits there for the snapshot (40 s).
      if (!['job', 'workload-patched'].includes(await phaseOf(cp, b))) return false;
      kill('SIGKILL');
      return true;
    }),
  ]);
  assert.is(ra.code, 0, ra.stdout + ra.stderr);
  assert.match(ra.stdout + ra.stderr, /Wait until the snapshot is ready to use: .* is ready/);
  assert.is(first.code, null, `killed after the Job: ${first.out}`);
  const rb = await runAsync(bin, ['upgrade', '-n', b, '--to', '15', '--method', 'link', '-y'], env, 600_000);
  assert.is(rb.code, 0, rb.stdout + rb.stderr);
  for (const [ns, w, before] of [
    [a, watchA, beforeA],
    [b, watchB, beforeB],
  ] as const) {
    const seen = await w.stop();
    assert.ok(seen.sawNewPod, `${ns}: the new major's pod was seen`);
    assert.ok(seen.readyFirst, `${ns}: the snapshot was ready to use before the new server's first start`);
    assert.is(await majorOf(cp, ns), 15);
    await assertWhole(cp, ns, before, ns);
  }
});

test('a run interrupted while the new server starts, with replicas back at 0: rollback restores the snapshot, never the used files', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('safe-dbstart');
  const before = await deploy(cp, ns, 13);
  const first = await runWatched(cp, ['upgrade', '-n', ns, '--to', '15', '--method', 'link', '-y'], async (kill) => {
    // The new server has started (its pod runs), the run has not recorded db-up yet: as a timeout would leave it.
    if (!['db-start', 'db-up'].includes(await phaseOf(cp, ns))) return false;
    const phase = await cp.kubectl(['-n', ns, 'get', 'pod', POD, '-o', 'jsonpath={.status.phase}'], {
      allowFail: true,
    });
    if (phase.stdout !== 'Running') return false;
    kill('SIGKILL');
    return true;
  });
  assert.is(first.code, null, first.out);
  // As after a timeout or a Ctrl-C followed by a hand-made scale-down: nothing runs now.
  await cp.kubectl(['-n', ns, 'scale', 'statefulset/circleci-postgresql', '--replicas=0']);
  const rb = await runAsync(
    requireBinary(),
    ['upgrade', '-n', ns, '--rollback', '-y'],
    { KUBECONFIG: cp.kubeconfig },
    600_000,
  );
  assert.is(rb.code, 0, rb.stdout + rb.stderr);
  assert.match(rb.stdout + rb.stderr, /from snapshot/);
  assert.not.match(rb.stdout + rb.stderr, /putting the directories back/);
  assert.is(await majorOf(cp, ns), 13);
  // The applications never came back on 15 (the run stopped before): no write was made there to lose.
  await assertWhole(cp, ns, before, 'rolled back');
});

test('--swap --no-snapshot, the Job killed while pg_upgrade moves the files: rollback refuses and removes nothing; a re-run refuses too', async () => {
  const { cp } = await sharedEnv();
  const ns = uniqueNamespace('safe-swap');
  await deploy(cp, ns, 17, { checksums: true });
  const args = ['upgrade', '-n', ns, '--to', '18', '--method', 'swap', '--no-snapshot', '-y', '--image', BITNAMI_18];
  const first = await runWatched(cp, args, async () => {
    const logs = await cp.kubectl(
      ['-n', ns, 'logs', '-l', 'job-name=pgupgrade-circleci-postgresql-to-18', '--tail=50'],
      { allowFail: true },
    );
    if (!/pgupgrade: pg_upgrade --swap/.test(logs.stdout)) return false;
    await cp.kubectl([
      '-n',
      ns,
      'delete',
      'pod',
      '-l',
      'job-name=pgupgrade-circleci-postgresql-to-18',
      '--grace-period=0',
      '--force',
      '--wait=false',
    ]);
    return true;
  });
  assert.is(first.code, 1, `the killed Job fails the upgrade: ${first.out}`);
  const rb = await runAsync(
    requireBinary(),
    ['upgrade', '-n', ns, '--rollback', '-y'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  assert.is(rb.code, 1, rb.stdout + rb.stderr);
  assert.match(rb.stderr, /--no-snapshot and pg_upgrade --swap may have moved the old cluster's files/);
  assert.match(rb.stderr, /nothing was changed/);
  assert.is(await phaseOf(cp, ns), 'job-started', 'the record is as the upgrade left it');
  // The user retries as the failure told them: delete the failed Job, run the same command. The Job refuses.
  await cp.kubectl(['-n', ns, 'delete', 'job', 'pgupgrade-circleci-postgresql-to-18', '--wait=true']);
  const again = await runAsync(requireBinary(), args, { KUBECONFIG: cp.kubeconfig }, 300_000);
  assert.is(again.code, 1, again.stdout + again.stderr);
  assert.match(again.stdout + again.stderr, /--swap was interrupted .* nothing was removed/);
  // Both directories are still on the volume: nothing deleted what --swap had moved.
  assert.match(await listVolume(cp, ns), /data-18\.pgupgrade-new/);
});

/** Lists the data volume's top directory from a restricted pod of its own. */
async function listVolume(cp: ControlPlane, ns: string): Promise<string> {
  await applyObjects(cp, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'ls-volume', namespace: ns },
      spec: {
        restartPolicy: 'Never',
        securityContext: { runAsNonRoot: true, runAsUser: 1001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'ls',
            image: 'busybox:1.36',
            command: ['ls', '-a', '/v'],
            volumeMounts: [{ name: 'v', mountPath: '/v' }],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
        volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'data-circleci-postgresql-0' } }],
      },
    },
  ]);
  await cp.kubectl(['-n', ns, 'wait', '--for=jsonpath={.status.phase}=Succeeded', 'pod/ls-volume', '--timeout=120s']);
  return (await cp.kubectl(['-n', ns, 'logs', 'ls-volume'])).stdout;
}

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
