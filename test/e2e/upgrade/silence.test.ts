import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { podName, podSql, releaseNamespaces } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { assertWritesPresent, committedWrites, withoutWrites } from '../../support/pg/writes.ts';
import { assertNoSecret, deployCase, user, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 24, acceptance 3: the dump, validate and the in-place upgrade with its full verify complete with the exec's
// silence limit (PGUPGRADE_EXEC_SILENCE_MS) below their longest silent step. Each database holds a pgbench table of
// SCALE × 100 000 rows: its dump-and-restore, its fingerprint and its ANALYZE each say nothing for longer than LIMIT_MS.
/** Its 3 s silence limit measures the heartbeat's own timing: a file beside it would only add noise to that. */
export const runsAlone = "a 3 s silence limit, kept free of a neighbour's load";
const test = suite(
  "long work never dies of silence: dump, validate and an in-place verify with the exec's silence limit lowered",
);
const PASSWORD = 'Silence-E2E-S3cret';
// Not lower: the exec's stream passes the test process's node agent, and on a loaded machine a line can take a
// second or more to arrive (the heartbeat's interval is 1 s at this limit).
const LIMIT_MS = 3000;
// The dump's database is three times the in-place one's: its dump-and-restore, counted in whole seconds, must outlast
// the limit with room on a quiet machine too (scale 40 took 3 to 4 s: "3 s" proves nothing against a 3 s limit).
const SCALE = { dump: 60, inPlace: 20 };
const outputs: RunResult[] = [];
const dump: Deployed = {
  name: 'official 12 → 14 by dump, silence limit lowered',
  file: 'majors',
  flavour: 'official',
  from: 12,
  to: 14,
  method: 'link',
  ns: uniqueNamespace('silence-dump'),
  pod: '',
};
const inPlace: Deployed = {
  name: 'official 13 → 15, link, --full-verify, silence limit lowered',
  file: 'upgrade',
  flavour: 'official',
  from: 13,
  to: 15,
  method: 'link',
  flags: ['--full-verify'],
  ns: uniqueNamespace('silence-link'),
  pod: '',
};

/** The binary with the silence limit lowered, its output kept for the secrets check. */
async function cli(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const r = await runAsync(
    requireBinary(),
    args,
    { KUBECONFIG: cp.kubeconfig, PGUPGRADE_EXEC_SILENCE_MS: String(LIMIT_MS) },
    300_000,
  );
  outputs.push(r);
  return r;
}

/** The case deployed and seeded, then a pgbench database large enough to be silent for longer than the limit. */
async function deployLarge(cp: ControlPlane, c: Deployed, scale: number): Promise<void> {
  await deployCase(cp, c, PASSWORD);
  const sql = podSql(cp, c.ns, c.pod, user(c));
  await sql('postgres', 'CREATE DATABASE bench');
  const t = Date.now();
  const r = await cp.kubectl(
    ['-n', c.ns, 'exec', c.pod, '--', 'pgbench', '-i', '-q', '-s', String(scale), '-U', user(c), 'bench'],
    { allowFail: true },
  );
  assert.is(r.code, 0, r.stderr);
  process.stderr.write(`\n  ${c.ns}: pgbench -i -s ${scale} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  c.before = await takeFingerprint(sql);
}

test('set up: two official Deployments, seeded, each with a pgbench database (scale 60 and 20), their applications writing', async () => {
  const { cp } = await sharedEnv();
  await Promise.all([deployLarge(cp, dump, SCALE.dump), deployLarge(cp, inPlace, SCALE.inPlace)]);
  assert.ok(dump.before?.perDb.bench && inPlace.before?.perDb.bench);
});

test('upgrade --method dump with the limit lowered: it completes, the load says which database it loads, every write there, data equal', async () => {
  const { cp } = await sharedEnv();
  const r = await cli(cp, ['upgrade', '-n', dump.ns, '--to', '14', '--method', 'dump', '-y']);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  // The load's progress (the task's output): each database by name, and how long its silent dump-and-restore took.
  assert.match(r.stdout, /loading database bench \(\d+ of \d+\)/);
  const took = Number(/database bench \(\d+ of \d+\) restored in (\d+) s/.exec(r.stdout)?.[1] ?? 0);
  assert.ok(took * 1000 > LIMIT_MS, `bench loaded in ${took} s, longer than the limit:\n${r.stdout}`);
  process.stderr.write(
    `\n  ${new Date().toISOString()} the dump-and-restore of bench, silent but for the heartbeat, took ${took} s; the silence limit is ${LIMIT_MS / 1000} s`,
  );
  const pod = await podName(cp, dump.ns, 'pgupgrade.kubectl.io/instance=postgres-v14');
  const sql = podSql(cp, dump.ns, pod, 'admin');
  const diff = compareFingerprints(
    withoutWrites(dump.before as Fingerprint),
    withoutWrites(await takeFingerprint(sql)),
    { extensionUpdates: true },
  );
  assert.equal(diff, ['role admin: password md5 → scram-sha-256'], "equal but for the new superuser's password hash");
  await assertWritesPresent(sql, await committedWrites(cp, dump.ns, 'postgres-app'));
});

test("validate with the limit lowered: it reads the new instance's data (the pgbench table among it) and passes", async () => {
  const { cp } = await sharedEnv();
  const r = await cli(cp, ['validate', '-n', dump.ns, '-o', 'json']);
  const checks = (
    JSON.parse(r.stdout || '{"checks":[]}') as { checks: Array<{ id: string; status: string; found: string }> }
  ).checks;
  assert.is(r.code, 0, `${JSON.stringify(checks, null, 1)}\n${r.stderr}`);
  assert.equal(
    checks.filter((x) => x.status === 'fail'),
    [],
  );
  assert.match(checks.find((x) => x.id === 'data')?.found ?? '', /^equal/);
});

test('an in-place upgrade (link, --full-verify) with the limit lowered: its checks, verify and ANALYZE complete, data equal', async () => {
  const { cp } = await sharedEnv();
  const r = await cli(cp, [
    'upgrade',
    '-n',
    inPlace.ns,
    '--to',
    '15',
    '--method',
    'link',
    '--full-verify',
    '-y',
    '-o',
    'json',
  ]);
  await verifyUpgraded(cp, inPlace, r, outputs, '0');
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 3);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
