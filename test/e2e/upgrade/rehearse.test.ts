import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { podSql, releaseNamespaces } from '../../support/kube/helpers.ts';
import { hostileRoleIsSuperuser } from '../../support/pg/hostile-role.ts';
import { countWrites, waitForWrites } from '../../support/pg/writes.ts';
import { waitFor } from '../../support/process.ts';
import { assertNoSecret, deployCase, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 16: `upgrade --rehearse` runs the whole upgrade on a snapshot clone while the database serves; production
// is only read. A trap that only pg_upgrade catches (a hand-made C function whose library 17 no longer ships) fails
// the rehearsal, and the upgrade to that major is held back until a rehearsal passes.
const test = suite('upgrade --rehearse: the whole upgrade on a snapshot clone, production untouched');
const PASSWORD = 'Rehearse-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'Bitnami 13, rehearsed to 15 and 17',
  file: 'layout',
  flavour: 'bitnami',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('rehearse'),
  pod: '',
};

interface Report {
  ok: boolean;
  failure: string | null;
  predictedDowntime: { seconds: number; parts: Array<{ part: string; ms: number }> } | null;
  timingsMs: Record<string, number>;
  space: { usedOnCloneBytes: number | null };
  jobLog: string;
}

async function cli(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const r = await runAsync(requireBinary(), args, { KUBECONFIG: cp.kubeconfig }, 600_000);
  outputs.push(r);
  return r;
}

/** What production is: the database pod (UID, its server's start time), and the resourceVersions of what an upgrade would change. */
async function production(cp: ControlPlane): Promise<string> {
  const rv = await cp.kubectl([
    '-n',
    c.ns,
    'get',
    'statefulsets,deployments,pvc,services',
    '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}',
  ]);
  const uid = await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod, '-o', 'jsonpath={.metadata.uid}']);
  const started = await podSql(cp, c.ns, c.pod, 'postgres')('postgres', 'select pg_postmaster_start_time()');
  return `${rv.stdout}\npod ${uid.stdout}\nstarted ${started.trim()}`;
}

/** The plugin's objects left in the namespace besides the rehearsal's record. */
async function leftovers(cp: ControlPlane): Promise<string> {
  const r = await cp.kubectl([
    '-n',
    c.ns,
    'get',
    'pods,jobs,pvc,volumesnapshots,configmaps',
    '-l',
    'app.kubernetes.io/managed-by=kubectl-pgupgrade',
    '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.name} {end}',
  ]);
  return r.stdout
    .split(' ')
    .filter((x) => x && !x.startsWith('ConfigMap/pgupgrade-rehearsal-'))
    .join(' ');
}

test('set up: a Bitnami-shaped 13 StatefulSet in a restricted namespace, seeded, its application writing', async () => {
  await deployCase((await sharedEnv()).cp, c, PASSWORD);
});

for (const method of ['link', 'copy'] as const) {
  test(`--rehearse to 15 by ${method} succeeds while the application writes; production is untouched and nothing of the rehearsal is left`, async () => {
    const { cp } = await sharedEnv();
    const before = await production(cp);
    const writesBefore =
      countWrites(await waitForWrites(cp, c.ns, { app: 'circleci-frontend', major: 13, moreThan: 5 })).byMajor[13] ?? 0;
    const r = await cli(cp, ['upgrade', '-n', c.ns, '--to', '15', '--method', method, '--rehearse', '-o', 'json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const rep = JSON.parse(r.stdout) as Report;
    assert.ok(rep.ok);
    assert.ok(rep.predictedDowntime && rep.predictedDowntime.seconds > 0, JSON.stringify(rep.predictedDowntime));
    for (const k of [
      'snapshotCutMs',
      'oldStopMs',
      'jobRunMs',
      'newServerStartMs',
      'shapeReadMs',
      'extensionsMs',
      'analyzeMs',
    ])
      assert.ok((rep.timingsMs[k] ?? -1) >= 0, k);
    assert.match(rep.jobLog, 'pgupgrade: done:');
    assert.ok((rep.space.usedOnCloneBytes ?? 0) > 0);
    assert.is(await production(cp), before, 'the same pod, the same server start, no workload, PVC or Service changed');
    assert.is(
      await hostileRoleIsSuperuser(podSql(cp, c.ns, c.pod, 'postgres')),
      false,
      'the rehearsal ran no code of the hostile role as superuser',
    );
    assert.is(await leftovers(cp), '', 'the snapshot, the clone, the Job and the probes are gone');
    // The application kept writing all along, with no error it could see (its journal holds only committed writes).
    const after =
      countWrites(await waitForWrites(cp, c.ns, { app: 'circleci-frontend', major: 13, moreThan: writesBefore + 3 }))
        .byMajor[13] ?? 0;
    assert.ok(after > writesBefore);
  });
}

test("a trap only pg_upgrade catches (a C function of adminpack's library, gone in 17) fails the rehearsal with its own message; the upgrade to 17 is then held back", async () => {
  const { cp } = await sharedEnv();
  const sql = podSql(cp, c.ns, c.pod, 'postgres');
  await sql(
    'postgres',
    "CREATE FUNCTION handmade_file_write(text, text, boolean) RETURNS bigint AS '$libdir/adminpack', 'pg_file_write' LANGUAGE C",
  );
  const before = await production(cp);
  const r = await cli(cp, ['upgrade', '-n', c.ns, '--to', '17', '--rehearse', '-o', 'json']);
  assert.is(r.code, 3, r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.is(rep.ok, false);
  assert.match(rep.jobLog, 'Checking for presence of required libraries');
  assert.match(rep.jobLog, 'adminpack');
  assert.match(rep.failure ?? '', 'the upgrade Job failed');
  assert.is(await production(cp), before);
  assert.is(await leftovers(cp), '');
  const up = await cli(cp, ['upgrade', '-n', c.ns, '--to', '17', '-y']);
  assert.is(up.code, 3, up.stdout + up.stderr);
  assert.match(up.stderr, 'rehearsal: the last rehearsal of this upgrade to 17');
  assert.match(up.stderr, '--force rehearsal');
  assert.is(await production(cp), before, 'held back before anything changed');
  // Fixed, and rehearsed again: the hold is lifted.
  await sql('postgres', 'DROP FUNCTION handmade_file_write(text, text, boolean)');
  const again = await cli(cp, ['upgrade', '-n', c.ns, '--to', '17', '--rehearse', '-o', 'json']);
  assert.is(again.code, 0, again.stdout + again.stderr);
  const rec = await cp.kubectl([
    '-n',
    c.ns,
    'get',
    'configmap',
    '-l',
    'pgupgrade.kubectl.io/role=rehearsal',
    '-o',
    'jsonpath={.items[0].data.rehearsal\\.json}',
  ]);
  assert.is((JSON.parse(rec.stdout) as { ok: boolean; to: number }).ok, true);
});

/** Runs the binary, and sends SIGINT the moment its output matches `marker`. */
function interruptAt(cp: ControlPlane, args: string[], marker: RegExp): Promise<{ code: number | null; out: string }> {
  const child = spawn(requireBinary(), args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: cp.kubeconfig },
  });
  let out = '';
  const seen = (d: Buffer) => {
    out += d.toString();
    if (marker.test(out) && !child.killed) child.kill('SIGINT');
  };
  child.stdout.on('data', seen);
  child.stderr.on('data', seen);
  return new Promise((res) => child.on('close', (code) => res({ code, out })));
}

const PHASES: RegExp[] = [
  /✔ Judge the preflight/,
  /✔ Snapshot the live volume/,
  /✔ Restore it to scratch PVC/,
  /pgupgrade: initdb/,
  /✔ Run the upgrade Job on the clone/,
];
test('Ctrl-C at each phase of the rehearsal leaves nothing behind, and production untouched', async () => {
  const { cp } = await sharedEnv();
  const before = await production(cp);
  for (const marker of PHASES) {
    const r = await interruptAt(cp, ['upgrade', '-n', c.ns, '--to', '15', '--rehearse'], marker);
    outputs.push({ code: r.code ?? -1, stdout: r.out, stderr: '' } as RunResult);
    assert.is(r.code, 130, `${marker}: ${r.out}`);
    await waitFor(
      `nothing of the rehearsal interrupted at ${marker} to be left`,
      async () => (await leftovers(cp)) === '',
      90_000,
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}: ${await leftovers(cp)}`);
    });
  }
  assert.is(await production(cp), before);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 5);
});

test.after(async () => {
  await releaseNamespaces((await sharedEnv()).cp);
});

test.run();
