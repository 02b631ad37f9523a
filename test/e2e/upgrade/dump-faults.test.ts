import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { runUntil } from '../../support/cli/run-until.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { podName, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { assertWritesPresent, committedWrites, countWrites, waitForWrites, withoutWrites } from '../../support/pg/writes.ts';
import { assertNoSecret, deployCase, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 14, acceptance 5: faults during `upgrade --method dump` (seed 000's official 12 → a new 14 instance). One
// namespace per kind of fault, its interruptions chained: each re-run resumes from the record and the last completes.
/** Its case D stops the kube-apiserver (SIGSTOP) for 20 s: for every file beside it too. */
export const runsAlone = 'stops the shared kube-apiserver for 20 s';
const test = suite('upgrade --method dump faults: the plugin interrupted after each phase, the new pod killed mid-load, the apiserver paused');
const PASSWORD = 'Dump-Faults-S3cret';
const APP = 'postgres-app';
const NEW = 'pgupgrade.kubectl.io/instance=postgres-v14';
const outputs: RunResult[] = [];
const PHASES = ['preflight', 'target-created', 'target-ready', 'target-tuned', 'apps-down', 'load-started', 'loaded', 'settings-back',
  'cutover', 'apps-up', 'verified', 'analyzed', 'source-down', 'done'];
// The titles of the apply tasks (src/commands/upgrade/dump/apply.ts, cutover.ts) but the last: a run left alone ends it.
const TITLES = ['Record the plan', 'Create the new instance', 'Wait until the new instance is ready', 'Tune the new instance for the load', 'Scale the applications down',
  'Dump the source and restore it', 'Put the new instance\'s durable settings back', 'Hold a snapshot of the new instance', 'Scale the applications back up',
  'Compare the new instance\'s content', 'Rebuild the planner statistics', 'Stop the old instance'];
const AFTER_A_PHASE = new RegExp(`✔ (${TITLES.map((t) => t.replace(/[()]/g, '\\$&')).join('|')})`);
const LOADING = /Dump the source and restore it/;
const RERUN = 'A re-run empties the new instance and loads it again';
const kase = (tag: string): Deployed => ({ name: `dump faults ${tag}`, file: 'majors', flavour: 'official', from: 12, to: 14, method: 'link', ns: uniqueNamespace(`dumpf-${tag}`), pod: '' });
const A = kase('sigint');
const B = kase('sigkill');
const C = kase('podkill');
const D = kase('apiserver');
const rows: Array<{ ns: string; fault: string; runs: string; rowsBefore: number; rowsAfter: number; writes: string }> = [];
const rowsOf = (fp: Fingerprint) => Object.values(withoutWrites(fp).perDb).reduce((n, d) => n + Object.values(d.tables).reduce((m, t) => m + t.rows, 0), 0);
const args = (c: Deployed) => ['upgrade', '-n', c.ns, '--to', '14', '--method', 'dump', '-y'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function recordedDump(cp: ControlPlane, ns: string): Promise<string | undefined> {
  const r = await cp.kubectl(['-n', ns, 'get', 'configmap', 'pgupgrade-dump-postgres', '-o', 'jsonpath={.data.state\\.json}'], { allowFail: true });
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { phase: string }).phase : undefined;
}

/** Runs the upgrade until `marker`, then `act`; keeps its output for the secrets check. */
async function interrupted(cp: ControlPlane, c: Deployed, marker: RegExp, act: (kill: (sig: NodeJS.Signals) => void) => Promise<void>) {
  const r = await runUntil(cp, args(c), marker, act);
  outputs.push({ code: r.code ?? -1, stdout: r.out, stderr: '' } as RunResult);
  return r;
}

/** Namespaces A and B: the plugin killed with `sig` after each phase, re-run each time, until a run completes by itself. */
async function killAfterEachPhase(cp: ControlPlane, c: Deployed, sig: 'SIGINT' | 'SIGKILL'): Promise<string[]> {
  const stops: string[] = [];
  let last: string | undefined;
  for (let i = 0; i < PHASES.length + 2; i++) {
    const r = await interrupted(cp, c, AFTER_A_PHASE, async (kill) => kill(sig));
    // A kill that landed once the last phase was recorded leaves nothing to resume.
    if (last) assert.match(r.out, last === 'done' ? 'nothing to do' : `stopped after "${last}": resuming it`, `run ${i + 1} after "${last}":\n${r.out}`);
    if (r.code === 0) return stops;
    assert.is(r.code, sig === 'SIGINT' ? 130 : null, `${sig} after a phase, run ${i + 1}:\n${r.out}`);
    const at = await recordedDump(cp, c.ns);
    assert.ok(at && PHASES.indexOf(at) > PHASES.indexOf(last ?? ''), `run ${i + 1} advanced the record past "${last}" (now "${at}"):\n${r.out}`);
    stops.push(at);
    last = at;
  }
  throw new Error(`no run completed after ${stops.join(', ')}`);
}

/** The new pod's load processes as `pod name db=PGDATABASE` lines (its /proc: the image may have no ps). */
async function loadProcesses(cp: ControlPlane, ns: string): Promise<string[]> {
  const pod = (await cp.kubectl(['-n', ns, 'get', 'pods', '-l', NEW, '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.name}'], { allowFail: true })).stdout.trim();
  if (!pod) return [];
  const sh = 'for p in /proc/[0-9]*; do n=$(tr "\\0" " " < $p/cmdline 2>/dev/null | cut -d" " -f1); n=${n##*/}; ' +
    'case "$n" in pg_restore|pg_dump|psql) echo "$n db=$(tr "\\0" "\\n" < $p/environ 2>/dev/null | sed -n "s/^PGDATABASE=//p")";; esac; done';
  const r = await cp.kubectl(['-n', ns, 'exec', pod, '--', 'sh', '-c', sh], { allowFail: true });
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => `${pod} ${l}`);
}

/** Namespace C: the new pod force-deleted while `what` runs in it (a matching line of loadProcesses). */
async function killPodWhile(cp: ControlPlane, c: Deployed, what: RegExp): Promise<string> {
  let seen = '';
  const r = await interrupted(cp, c, LOADING, async () => {
    for (let t = Date.now(); !seen && Date.now() - t < 120_000; await sleep(100)) seen = (await loadProcesses(cp, c.ns)).find((l) => what.test(l)) ?? '';
    if (!seen) throw new Error(`no ${what} seen in the new pod`);
    await cp.kubectl(['-n', c.ns, 'delete', 'pod', seen.split(' ')[0] as string, '--grace-period=0', '--force', '--wait=false']);
  });
  assert.ok(seen, `${what} never ran in the new pod:\n${r.out}`);
  assert.is(r.code, 1, `the pod killed while "${seen}" ran: the run fails\n${r.out}`);
  assert.match(r.out, RERUN);
  assert.is(await recordedDump(cp, c.ns), 'load-started');
  const said = /^error: (.*)$/m.exec(r.out)?.[1] ?? '';
  return `killed while "${seen.split(' ').slice(1).join(' ').replace(/ db=$/, ' (the globals)')}" ran: exit 1, "${said}"`;
}

/** After the last run: done, equal, every committed write there, the application writing on 14, validate passes. */
async function verifyDone(cp: ControlPlane, c: Deployed, fault: string, runs: string): Promise<void> {
  assert.is(await recordedDump(cp, c.ns), 'done', fault);
  const pod = await podName(cp, c.ns, NEW);
  await waitReady(cp, c.ns, pod);
  const sql = podSql(cp, c.ns, pod, 'admin');
  const after = await takeFingerprint(sql);
  assert.equal(compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(after), { extensionUpdates: true }),
    ['role admin: password md5 → scram-sha-256'], `${fault}: the new instance's data`);
  const sofar = countWrites(await committedWrites(cp, c.ns, APP)).byMajor[14] ?? 0;
  const writes = await waitForWrites(cp, c.ns, { app: APP, major: 14, moreThan: sofar + 3 });
  const w = await assertWritesPresent(sql, writes);
  const v = await runAsync(requireBinary(), ['validate', '-n', c.ns, '-o', 'json'], { KUBECONFIG: cp.kubeconfig }, 300_000);
  outputs.push(v);
  assert.is(v.code, 0, `${fault}: validate\n${v.stdout}\n${v.stderr}`);
  const n = countWrites(writes).byMajor;
  rows.push({ ns: c.ns, fault, runs, rowsBefore: rowsOf(c.before as Fingerprint), rowsAfter: rowsOf(after),
    writes: `${w.committed} committed (${Object.entries(n).map(([m, k]) => `${k} on ${m}`).join(', ')}), ${w.present} present` });
}

test('set up: four namespaces with seed 000\'s Deployment on 12, seeded, the application writing; C and D with two large tables', async () => {
  const { cp } = await sharedEnv();
  await Promise.all([A, B, C, D].map((c) => deployCase(cp, c, PASSWORD)));
  // Enough rows that the restore of app1 and of app2 each last a few seconds: a fault can land inside either.
  await Promise.all([C, D].map(async (c) => {
    const sql = podSql(cp, c.ns, c.pod, 'admin');
    for (const db of ['app1', 'app2']) await sql(db, 'CREATE TABLE big AS SELECT g AS id, md5(g::text) AS a, md5((g * 7)::text) AS b FROM generate_series(1, 400000) g; ALTER TABLE big ADD PRIMARY KEY (id)');
    c.before = await takeFingerprint(sql);
  }));
});

test('A: SIGINT after each phase, B: SIGKILL after each phase, C: the new pod killed mid-load twice; each re-run resumes and the last completes', async () => {
  const { cp } = await sharedEnv();
  const chainC = async () => {
    const early = await killPodWhile(cp, C, / (pg_restore|pg_dump) db=app1$| psql db=$/);
    const late = await killPodWhile(cp, C, / pg_restore db=app2$/);
    const r = await upgradeCli(cp, args(C).slice(1), outputs);
    assert.is(r.code, 0, `C, the re-run after the kills:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr + r.stdout, 'stopped after "load-started": resuming it');
    return [early, late];
  };
  // Each chain to its end, whatever the others do: every failure is reported.
  const failures: string[] = [];
  const chain = async <T>(c: Deployed, fault: string, run: () => Promise<T>, runs: (x: T) => string) => {
    try {
      const x = await run();
      await verifyDone(cp, c, fault, runs(x));
    } catch (err) {
      failures.push(`${c.ns}, ${fault}: ${(err as Error).message}`);
    }
  };
  await Promise.all([
    chain(A, 'SIGINT of the plugin after each phase', () => killAfterEachPhase(cp, A, 'SIGINT'), (a) => `${a.length + 1} runs, stopped after ${a.join(', ')}`),
    chain(B, 'SIGKILL of the plugin after each phase', () => killAfterEachPhase(cp, B, 'SIGKILL'), (b) => `${b.length + 1} runs, killed after ${b.join(', ')}`),
    chain(C, 'the new pod force-deleted mid-load, twice', chainC, (c) => `3 runs: ${c.join('; then ')}; the third completed`),
  ]);
  assert.equal(failures, []);
});

test('D, alone: the kube-apiserver stopped (SIGSTOP) for 20 s during the load; the run waits it out, or a re-run completes', async () => {
  const { cp } = await sharedEnv();
  const pid = cp.daemons.find((d) => d.name === 'kube-apiserver')?.child.pid;
  assert.ok(pid, 'the kube-apiserver process');
  let paused = false;
  const first = await interrupted(cp, D, LOADING, async () => {
    await sleep(1500);
    process.kill(pid, 'SIGSTOP');
    paused = true;
    await sleep(20_000);
    process.kill(pid, 'SIGCONT');
  });
  assert.ok(paused);
  let runs = 'the same run waited it out';
  if (first.code !== 0) {
    const r = await upgradeCli(cp, args(D).slice(1), outputs);
    assert.is(r.code, 0, `D, the re-run after the pause (first run: exit ${first.code}):\n${first.out}\n${r.stdout}\n${r.stderr}`);
    runs = `the run failed (exit ${first.code}: ${first.out.trim().split('\n').slice(-1)[0]}); the re-run completed`;
  }
  await verifyDone(cp, D, 'kube-apiserver paused 20 s during the load', runs);
});

test('A: --rollback after the cutover: the Service back, the old instance serves on 12 with its data, the application writes on 12 again', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', A.ns, '--rollback', '-y'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const selector = JSON.parse((await cp.kubectl(['-n', A.ns, 'get', 'service', 'postgres', '-o', 'jsonpath={.spec.selector}'])).stdout) as Record<string, string>;
  assert.equal(selector, { 'k8s-app': 'postgres' });
  const pod = await podName(cp, A.ns, 'k8s-app=postgres');
  await waitReady(cp, A.ns, pod);
  const sql = podSql(cp, A.ns, pod, 'admin');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 12);
  assert.equal(compareFingerprints(withoutWrites(A.before as Fingerprint), withoutWrites(await takeFingerprint(sql))), [], 'the old instance\'s data is unchanged');
  const on12 = countWrites(await committedWrites(cp, A.ns, APP)).byMajor[12] ?? 0;
  await waitForWrites(cp, A.ns, { app: APP, major: 12, moreThan: on12 + 3 });
  rows.push({ ns: A.ns, fault: 'then --rollback', runs: '1 run', rowsBefore: rowsOf(A.before as Fingerprint), rowsAfter: rowsOf(A.before as Fingerprint),
    writes: 'the application writes on 12 again through the Service' });
});

test('the faults and their outcomes; no secret in any output or in the audit log', async () => {
  const table = ['| namespace | fault | runs | rows before | rows after | lost | application\'s writes |', '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.ns} | ${r.fault} | ${r.runs} | ${r.rowsBefore} | ${r.rowsAfter} | ${r.rowsBefore - r.rowsAfter} | ${r.writes} |`)];
  process.stderr.write(`\n${table.join('\n')}\n`);
  assert.is(rows.length, 5);
  assert.ok(rows.every((r) => r.rowsBefore === r.rowsAfter && r.rowsBefore > 0), 'no row lost');
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 20);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
