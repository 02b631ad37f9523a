import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sharedEnv } from '../../support/cluster.ts';
import {
  AFTER_A_PHASE,
  APP,
  deployFaultCases,
  dumpArgs,
  DumpFaults,
  kase,
  LOADING,
  PHASES,
  recordedDump,
  rowsOf,
  sleep,
} from '../../support/faults/dump.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { execInPod } from '../../support/kube/exec.ts';
import { podName, podsMatching, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { committedWrites, countWrites, waitForWrites, withoutWrites } from '../../support/pg/writes.ts';
import { upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';

// Faults during `upgrade --method dump` (seed 000's official 12 → a new 14 instance). One namespace per kind of
// fault, its interruptions chained: each re-run resumes from the record and the last completes. The kube-apiserver's
// stop, which pauses every file beside it, is in apiserver-pause.test.ts.
const test = suite(
  'upgrade --method dump faults: the plugin interrupted after each phase, the new pod killed mid-load',
);
const PASSWORD = 'Dump-Faults-S3cret';
const NEW = 'pgupgrade.kubectl.io/instance=postgres-v14';
const RERUN = 'A re-run empties the new instance and loads it again';
const A = kase('sigint');
const B = kase('sigkill');
const C = kase('podkill');
const F = new DumpFaults();

/** Namespaces A and B: the plugin killed with `sig` after each phase, re-run each time, until a run completes by itself. */
async function killAfterEachPhase(cp: ControlPlane, c: Deployed, sig: 'SIGINT' | 'SIGKILL'): Promise<string[]> {
  const stops: string[] = [];
  let last: string | undefined;
  for (let i = 0; i < PHASES.length + 2; i++) {
    const r = await F.interrupted(cp, c, AFTER_A_PHASE, async (kill) => kill(sig));
    // A kill that landed once the last phase was recorded leaves nothing to resume.
    if (last)
      assert.match(
        r.out,
        last === 'done' ? 'nothing to do' : `stopped after "${last}": resuming it`,
        `run ${i + 1} after "${last}":\n${r.out}`,
      );
    if (r.code === 0) return stops;
    assert.is(r.code, sig === 'SIGINT' ? 130 : null, `${sig} after a phase, run ${i + 1}:\n${r.out}`);
    const at = await recordedDump(cp, c.ns);
    assert.ok(
      at && PHASES.indexOf(at) > PHASES.indexOf(last ?? ''),
      `run ${i + 1} advanced the record past "${last}" (now "${at}"):\n${r.out}`,
    );
    stops.push(at);
    last = at;
  }
  throw new Error(`no run completed after ${stops.join(', ')}`);
}

/** The new pod's load processes as `pod name db=PGDATABASE` lines (its /proc: the image may have no ps). */
async function loadProcesses(cp: ControlPlane, ns: string): Promise<string[]> {
  // In this process (REST and the test's own exec), not two kubectl processes per look: a look took longer than
  // the load of a small database, which then ran and ended between two looks.
  const pod = (await podsMatching(cp, ns, NEW, 'status.phase=Running').catch(() => []))[0] ?? '';
  if (!pod) return [];
  const sh =
    'for p in /proc/[0-9]*; do n=$(tr "\\0" " " < $p/cmdline 2>/dev/null | cut -d" " -f1); n=${n##*/}; ' +
    'case "$n" in pg_restore|pg_dump|psql) echo "$n db=$(tr "\\0" "\\n" < $p/environ 2>/dev/null | sed -n "s/^PGDATABASE=//p")";; esac; done';
  const r = await execInPod(cp.rest, ns, pod, ['sh', '-c', sh]).catch(() => ({ stdout: '' }));
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => `${pod} ${l}`);
}

/** Namespace C: the new pod force-deleted while `what` runs in it (a matching line of loadProcesses). */
async function killPodWhile(cp: ControlPlane, c: Deployed, what: RegExp): Promise<string> {
  let seen = '';
  const r = await F.interrupted(cp, c, LOADING, async () => {
    for (let t = Date.now(); !seen && Date.now() - t < 120_000; await sleep(100))
      seen = (await loadProcesses(cp, c.ns)).find((l) => what.test(l)) ?? '';
    if (!seen) throw new Error(`no ${what} seen in the new pod`);
    await cp.kubectl([
      '-n',
      c.ns,
      'delete',
      'pod',
      seen.split(' ')[0] as string,
      '--grace-period=0',
      '--force',
      '--wait=false',
    ]);
  });
  assert.ok(seen, `${what} never ran in the new pod:\n${r.out}`);
  assert.is(r.code, 1, `the pod killed while "${seen}" ran: the run fails\n${r.out}`);
  assert.match(r.out, RERUN);
  assert.is(await recordedDump(cp, c.ns), 'load-started');
  const said = /^error: (.*)$/m.exec(r.out)?.[1] ?? '';
  return `killed while "${seen.split(' ').slice(1).join(' ').replace(/ db=$/, ' (the globals)')}" ran: exit 1, "${said}"`;
}

test("set up: three namespaces with seed 000's Deployment on 12, seeded, the application writing; C with two large tables", async () => {
  await deployFaultCases((await sharedEnv()).cp, PASSWORD, [A, B, C], [C]);
});

test('A: SIGINT after each phase, B: SIGKILL after each phase, C: the new pod killed mid-load twice; each re-run resumes and the last completes', async () => {
  const { cp } = await sharedEnv();
  const chainC = async () => {
    const early = await killPodWhile(cp, C, / (pg_restore|pg_dump) db=app1$| psql db=$/);
    const late = await killPodWhile(cp, C, / pg_restore db=app2$/);
    const r = await upgradeCli(cp, dumpArgs(C).slice(1), F.outputs);
    assert.is(r.code, 0, `C, the re-run after the kills:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr + r.stdout, 'stopped after "load-started": resuming it');
    return [early, late];
  };
  // Each chain to its end, whatever the others do: every failure is reported.
  const failures: string[] = [];
  const chain = async <T>(c: Deployed, fault: string, run: () => Promise<T>, runs: (x: T) => string) => {
    try {
      const x = await run();
      await F.verifyDone(cp, c, fault, runs(x));
    } catch (err) {
      failures.push(`${c.ns}, ${fault}: ${(err as Error).message}`);
    }
  };
  await Promise.all([
    chain(
      A,
      'SIGINT of the plugin after each phase',
      () => killAfterEachPhase(cp, A, 'SIGINT'),
      (a) => `${a.length + 1} runs, stopped after ${a.join(', ')}`,
    ),
    chain(
      B,
      'SIGKILL of the plugin after each phase',
      () => killAfterEachPhase(cp, B, 'SIGKILL'),
      (b) => `${b.length + 1} runs, killed after ${b.join(', ')}`,
    ),
    chain(
      C,
      'the new pod force-deleted mid-load, twice',
      chainC,
      (c) => `3 runs: ${c.join('; then ')}; the third completed`,
    ),
  ]);
  assert.equal(failures, []);
});

test('A: --rollback after the cutover: the Service back, the old instance serves on 12 with its data, the application writes on 12 again', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', A.ns, '--rollback', '-y'], F.outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const selector = JSON.parse(
    (await cp.kubectl(['-n', A.ns, 'get', 'service', 'postgres', '-o', 'jsonpath={.spec.selector}'])).stdout,
  ) as Record<string, string>;
  assert.equal(selector, { 'k8s-app': 'postgres' });
  const pod = await podName(cp, A.ns, 'k8s-app=postgres');
  await waitReady(cp, A.ns, pod);
  const sql = podSql(cp, A.ns, pod, 'admin');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 12);
  assert.equal(
    compareFingerprints(withoutWrites(A.before as Fingerprint), withoutWrites(await takeFingerprint(sql))),
    [],
    "the old instance's data is unchanged",
  );
  const on12 = countWrites(await committedWrites(cp, A.ns, APP)).byMajor[12] ?? 0;
  await waitForWrites(cp, A.ns, { app: APP, major: 12, moreThan: on12 + 3 });
  F.rows.push({
    ns: A.ns,
    fault: 'then --rollback',
    runs: '1 run',
    rowsBefore: rowsOf(A.before as Fingerprint),
    rowsAfter: rowsOf(A.before as Fingerprint),
    writes: 'the application writes on 12 again through the Service',
  });
});

test('the faults and their outcomes; no secret in any output or in the audit log', async () => {
  F.report((await sharedEnv()).cp, PASSWORD, 4, 20);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
