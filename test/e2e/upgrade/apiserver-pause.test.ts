import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sharedEnv } from '../../support/cluster.ts';
import { deployFaultCases, dumpArgs, DumpFaults, kase, LOADING, sleep } from '../../support/faults/dump.ts';
import { reportFaults, runFault, type Row } from '../../support/faults/in-place.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { releaseNamespaces } from '../../support/kube/helpers.ts';
import { upgradeCli } from '../../support/upgrade-cases.ts';

/** Both cases stop the kube-apiserver (SIGSTOP) for 20 s: for every file beside them too. */
export const runsAlone = 'stops the shared kube-apiserver for 20 s';
const test = suite(
  'the kube-apiserver stopped for 20 s (requests hang, as in a partition) during an upgrade in place and during a dump',
);
const PASSWORD = 'Dump-Faults-S3cret';
const D = kase('apiserver');
const F = new DumpFaults();

function apiserverPid(cp: ControlPlane): number {
  const pid = cp.daemons.find((d) => d.name === 'kube-apiserver')?.child.pid;
  if (!pid) throw new Error('no kube-apiserver process');
  return pid;
}

test('in place: stopped once the Job started; the run waits it out, or a re-run completes; zero rows lost', async () => {
  const { cp } = await sharedEnv();
  const rows: Row[] = [];
  const failures: string[] = [];
  await runFault(
    cp,
    {
      after: 'the Job started',
      marker: /pgupgrade: initdb/,
      act: 'apiserver unreachable for 20 s',
      then: 'resume',
      method: 'link',
    },
    99,
    rows,
  ).catch((err: Error) => failures.push(err.message));
  await releaseNamespaces(cp);
  reportFaults(rows, failures, 1);
});

test("dump: set up seed 000's Deployment on 12, seeded, the application writing, two large tables", async () => {
  await deployFaultCases((await sharedEnv()).cp, PASSWORD, [D], [D]);
});

test('dump: stopped during the load; the run waits it out, or a re-run completes', async () => {
  const { cp } = await sharedEnv();
  const pid = apiserverPid(cp);
  let paused = false;
  const first = await F.interrupted(cp, D, LOADING, async () => {
    await sleep(1500);
    process.kill(pid, 'SIGSTOP');
    paused = true;
    await sleep(20_000);
    process.kill(pid, 'SIGCONT');
  });
  assert.ok(paused);
  let runs = 'the same run waited it out';
  if (first.code !== 0) {
    const r = await upgradeCli(cp, dumpArgs(D).slice(1), F.outputs);
    assert.is(
      r.code,
      0,
      `D, the re-run after the pause (first run: exit ${first.code}):\n${first.out}\n${r.stdout}\n${r.stderr}`,
    );
    runs = `the run failed (exit ${first.code}: ${first.out.trim().split('\n').slice(-1)[0]}); the re-run completed`;
  }
  await F.verifyDone(cp, D, 'kube-apiserver paused 20 s during the load', runs);
  F.report(cp, PASSWORD, 1, 2);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
