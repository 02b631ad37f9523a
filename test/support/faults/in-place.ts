import * as assert from 'uvu/assert';
import { runUntil } from '../cli/run-until.ts';
import { requireBinary, runAsync } from '../cli/binary.ts';
import { uniqueNamespace } from '../cluster.ts';
import { bitnamiFixture } from '../fixtures/bitnami.ts';
import { applyObjects, createNamespace, podName, podSql, recordedState, waitReady } from '../kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../pg/fingerprint.ts';
import { seedCluster } from '../pg/seed.ts';
import {
  assertWritesPresent,
  committedWrites,
  countWrites,
  waitForWrites,
  withoutWrites,
  type RolledBack,
} from '../pg/writes.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';

/**
 * The in-place upgrade's faults (a Bitnami 13 StatefulSet upgraded to 15, its application writing): the plugin
 * interrupted after each phase, the Job's pod killed, the kube-apiserver stopped. `runFault` deploys one case in a
 * namespace of its own, lands its fault, then resumes or rolls back and checks that no row was lost. Used by
 * test/e2e/upgrade/faults.test.ts and, for the apiserver's stop, which pauses every file beside it, by
 * test/e2e/upgrade/apiserver-pause.test.ts.
 */
const PASSWORD = 'Faults-E2E-S3cret';
const POD = 'circleci-postgresql-0';
const JOB = 'pgupgrade-circleci-postgresql-to-15';

export type Act = 'SIGINT the plugin' | 'SIGKILL the plugin' | "kill the Job's pod" | 'apiserver unreachable for 20 s';
export interface Fault {
  after: string;
  marker: RegExp;
  act: Act;
  then: 'resume' | 'rollback';
  method: 'link' | 'copy';
}
export interface Row {
  fault: string;
  method: string;
  outcome: string;
  rowsBefore: number;
  rowsAfter: number;
  writes: string;
}

// The seeded rows; the application's table grows all along and is checked by its journal instead.
const rowsOf = (fp: Fingerprint) =>
  Object.values(withoutWrites(fp).perDb).reduce(
    (n, d) => n + Object.values(d.tables).reduce((m, t) => m + t.rows, 0),
    0,
  );

async function deploy(cp: ControlPlane, ns: string): Promise<Fingerprint> {
  await createNamespace(cp, ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await applyObjects(cp, bitnamiFixture({ namespace: ns, major: 13, password: PASSWORD }));
  // The StatefulSet makes its pod a moment after the apply: wait for it to exist, then to be ready.
  await waitReady(cp, ns, await podName(cp, ns, 'app.kubernetes.io/name=postgresql'));
  await seedCluster(podSql(cp, ns, POD, 'postgres'), { rows: 150 });
  const fp = await takeFingerprint(podSql(cp, ns, POD, 'postgres'));
  await waitForWrites(cp, ns, { major: 13, moreThan: 10 });
  return fp;
}

/**
 * After the fault and its resume or rollback: the application writes again on `major` (past what it had written
 * on it so far), every write it saw committed is there but those a rollback legitimately threw away, and the
 * seeded data equals the fingerprint before. Returns the writes' line for the table.
 */
async function verifyAfter(
  cp: ControlPlane,
  ns: string,
  major: number,
  before: Fingerprint,
  label: string,
  rolledBack?: RolledBack,
): Promise<{ after: Fingerprint; writes: string }> {
  const sql = podSql(cp, ns, POD, 'postgres');
  const after = await takeFingerprint(sql);
  assert.equal(
    compareFingerprints(withoutWrites(before), withoutWrites(after), { extensionUpdates: major > 13 }),
    [],
    label,
  );
  const sofar = countWrites(await committedWrites(cp, ns)).byMajor[major] ?? 0;
  const writes = await waitForWrites(cp, ns, { major, moreThan: sofar + 3 });
  const r = await assertWritesPresent(sql, writes, { rolledBack });
  const n = countWrites(writes).byMajor;
  return {
    after,
    writes: `${r.committed} committed (${Object.entries(n)
      .map(([m, c]) => `${c} on ${m}`)
      .join(', ')}), ${r.present} present, ${r.discardedByRollback} discarded by the rollback`,
  };
}

async function majorOf(cp: ControlPlane, ns: string): Promise<number> {
  await waitReady(cp, ns, await podName(cp, ns, 'app.kubernetes.io/name=postgresql'));
  return Math.floor(
    Number((await podSql(cp, ns, POD, 'postgres')('postgres', 'show server_version_num')).trim()) / 10000,
  );
}

/** Deploys, faults, resumes or rolls back, verifies; the outcome goes to `rows`. */
export async function runFault(cp: ControlPlane, f: Fault, i: number, rows: Row[]): Promise<void> {
  const ns = uniqueNamespace(`fault-${i}`);
  const before = await deploy(cp, ns);
  const args = ['upgrade', '-n', ns, '--to', '15', '--method', f.method, '-y'];
  const first = await runUntil(cp, args, f.marker, async (kill) => {
    if (f.act === 'SIGINT the plugin') kill('SIGINT');
    else if (f.act === 'SIGKILL the plugin') kill('SIGKILL');
    else if (f.act === "kill the Job's pod")
      await cp.kubectl([
        '-n',
        ns,
        'delete',
        'pod',
        '-l',
        `job-name=${JOB}`,
        '--grace-period=0',
        '--force',
        '--wait=false',
      ]);
    else {
      const pid = cp.daemons.find((d) => d.name === 'kube-apiserver')?.child.pid;
      if (!pid) throw new Error('no kube-apiserver process');
      process.kill(pid, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 20_000));
      process.kill(pid, 'SIGCONT');
    }
  });
  const label = `${f.act} after ${f.after}`;
  if (f.act === 'SIGINT the plugin') assert.is(first.code, 130, `${label}: ${first.out}`);
  if (f.act === "kill the Job's pod")
    assert.is(first.code, 1, `${label}: the failed Job fails the upgrade\n${first.out}`);
  const bin = requireBinary();
  const env = { KUBECONFIG: cp.kubeconfig };
  if (f.then === 'resume') {
    // An outage may be waited out by the run itself; otherwise the re-run resumes. Either way it must complete.
    const waitedOut = f.act === 'apiserver unreachable for 20 s' && first.code === 0;
    const r = waitedOut ? { code: 0, stdout: '', stderr: '' } : await runAsync(bin, args, env, 600_000);
    assert.is(r.code, 0, `${label}, then resume:\n${first.out}\n${r.stdout}\n${r.stderr}`);
    assert.is(await majorOf(cp, ns), 15, label);
    const { after, writes } = await verifyAfter(cp, ns, 15, before, label);
    rows.push({
      fault: label,
      method: f.method,
      outcome: waitedOut ? 'waited out by the same run: 15 runs' : 'resumed: 15 runs',
      rowsBefore: rowsOf(before),
      rowsAfter: rowsOf(after),
      writes,
    });
    return;
  }
  // From the record: until the new server's start was recorded the directories go back; after it, the snapshot.
  // (A kill lands when it lands: the record, read before the rollback removes it, says how far the run got.)
  const history = ((await recordedState(cp, ns))?.history ?? []).map((h) => h.phase);
  const started = history.includes('db-start');
  const rb = await runAsync(bin, ['upgrade', '-n', ns, '--rollback', '-y'], env, 600_000);
  assert.is(rb.code, 0, `${label}, then --rollback:\n${rb.stdout}\n${rb.stderr}`);
  assert.match(
    rb.stderr + rb.stdout,
    started ? /restored from .*pgupgrade|from snapshot/ : /putting the directories back|directories put back/,
    `${label}: ${started ? 'the new server has started: the snapshot' : 'the new server never started: the directories'}\n${rb.stdout}\n${rb.stderr}`,
  );
  assert.is(await majorOf(cp, ns), 13, label);
  const rolledBack = { from: 15, journal: await committedWrites(cp, ns) };
  const { after } = await verifyAfter(cp, ns, 13, before, `${label}, rolled back`, rolledBack);
  // And the upgrade can be run again from there.
  const again = await runAsync(bin, args, env, 600_000);
  assert.is(again.code, 0, `${label}, rollback, then upgrade again:\n${again.stdout}\n${again.stderr}`);
  assert.is(await majorOf(cp, ns), 15);
  const { writes } = await verifyAfter(cp, ns, 15, before, `${label}, rolled back, upgraded again`, rolledBack);
  rows.push({
    fault: label,
    method: f.method,
    outcome: `rolled back (${started ? 'snapshot restored' : 'directories put back'}): 13 starts, equal; upgraded again`,
    rowsBefore: rowsOf(before),
    rowsAfter: rowsOf(after),
    writes,
  });
}

/** The table of outcomes, printed by each file that runs faults; then its assertions: no case failed, every one ran, no row lost. */
export function reportFaults(rows: Row[], failures: string[], expected: number): void {
  const table = [
    "| fault | method | outcome | rows before | rows after | lost | application's writes |",
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.method} | ${r.outcome} | ${r.rowsBefore} | ${r.rowsAfter} | ${r.rowsBefore - r.rowsAfter} | ${r.writes} |`,
    ),
  ];
  process.stderr.write(`\n${table.join('\n')}\n`);
  assert.equal(failures, []);
  assert.is(rows.length, expected);
  assert.ok(
    rows.every((r) => r.rowsBefore === r.rowsAfter && r.rowsBefore > 0),
    'no row lost',
  );
}
