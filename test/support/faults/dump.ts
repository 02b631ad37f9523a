import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../cli/binary.ts';
import { runUntil } from '../cli/run-until.ts';
import { uniqueNamespace } from '../cluster.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';
import { podName, podSql, waitReady } from '../kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../pg/fingerprint.ts';
import { assertWritesPresent, committedWrites, countWrites, waitForWrites, withoutWrites } from '../pg/writes.ts';
import { assertNoSecret, deployCase, type Deployed } from '../upgrade-cases.ts';

// Faults during `upgrade --method dump` (seed 000's official 12 → a new 14 instance): the helpers of
// test/e2e/upgrade/dump-faults.test.ts and of apiserver-pause.test.ts (the kube-apiserver's stop, which pauses
// every file beside it, runs alone).
export const APP = 'postgres-app';
const NEW = 'pgupgrade.kubectl.io/instance=postgres-v14';
export const PHASES = [
  'preflight',
  'target-created',
  'target-ready',
  'target-tuned',
  'apps-down',
  'load-started',
  'loaded',
  'settings-back',
  'cutover',
  'apps-up',
  'verified',
  'analyzed',
  'source-down',
  'done',
];
// The titles of the apply tasks (src/commands/upgrade/dump/apply.ts, cutover.ts) but the last: a run left alone ends it.
const TITLES = [
  'Record the plan',
  'Create the new instance',
  'Wait until the new instance is ready',
  'Tune the new instance for the load',
  'Scale the applications down',
  'Dump the source and restore it',
  "Put the new instance's durable settings back",
  'Hold a snapshot of the new instance',
  'Scale the applications back up',
  "Compare the new instance's content",
  'Rebuild the planner statistics',
  'Stop the old instance',
];
export const AFTER_A_PHASE = new RegExp(`✔ (${TITLES.map((t) => t.replace(/[()]/g, '\\$&')).join('|')})`);
export const LOADING = /Dump the source and restore it/;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const kase = (tag: string): Deployed => ({
  name: `dump faults ${tag}`,
  file: 'majors',
  flavour: 'official',
  from: 12,
  to: 14,
  method: 'link',
  ns: uniqueNamespace(`dumpf-${tag}`),
  pod: '',
});
export const dumpArgs = (c: Deployed) => ['upgrade', '-n', c.ns, '--to', '14', '--method', 'dump', '-y'];
export const rowsOf = (fp: Fingerprint) =>
  Object.values(withoutWrites(fp).perDb).reduce(
    (n, d) => n + Object.values(d.tables).reduce((m, t) => m + t.rows, 0),
    0,
  );

export async function recordedDump(cp: ControlPlane, ns: string): Promise<string | undefined> {
  const r = await cp.kubectl(
    ['-n', ns, 'get', 'configmap', 'pgupgrade-dump-postgres', '-o', 'jsonpath={.data.state\\.json}'],
    { allowFail: true },
  );
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { phase: string }).phase : undefined;
}

/** Deploys the cases; `big` ones get enough rows that the restore of app1 and of app2 each last a few seconds. */
export async function deployFaultCases(
  cp: ControlPlane,
  password: string,
  cases: Deployed[],
  big: Deployed[],
): Promise<void> {
  await Promise.all(cases.map((c) => deployCase(cp, c, password)));
  await Promise.all(
    big.map(async (c) => {
      const sql = podSql(cp, c.ns, c.pod, 'admin');
      for (const db of ['app1', 'app2'])
        await sql(
          db,
          'CREATE TABLE big AS SELECT g AS id, md5(g::text) AS a, md5((g * 7)::text) AS b FROM generate_series(1, 1200000) g; ALTER TABLE big ADD PRIMARY KEY (id)',
        );
      c.before = await takeFingerprint(sql);
    }),
  );
}

export interface FaultRow {
  ns: string;
  fault: string;
  runs: string;
  rowsBefore: number;
  rowsAfter: number;
  writes: string;
}

/** One file's runs: every output kept for the secrets check, every outcome for the table. */
export class DumpFaults {
  readonly outputs: RunResult[] = [];
  readonly rows: FaultRow[] = [];

  /** Runs the upgrade until `marker`, then `act`. */
  async interrupted(
    cp: ControlPlane,
    c: Deployed,
    marker: RegExp,
    act: (kill: (sig: NodeJS.Signals) => void) => Promise<void>,
  ) {
    const r = await runUntil(cp, dumpArgs(c), marker, act);
    this.outputs.push({ code: r.code ?? -1, stdout: r.out, stderr: '' } as RunResult);
    return r;
  }

  /** After the last run: done, equal, every committed write there, the application writing on 14, validate passes. */
  async verifyDone(cp: ControlPlane, c: Deployed, fault: string, runs: string): Promise<void> {
    assert.is(await recordedDump(cp, c.ns), 'done', fault);
    const pod = await podName(cp, c.ns, NEW);
    await waitReady(cp, c.ns, pod);
    const sql = podSql(cp, c.ns, pod, 'admin');
    const after = await takeFingerprint(sql);
    assert.equal(
      compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(after), { extensionUpdates: true }),
      ['role admin: password md5 → scram-sha-256'],
      `${fault}: the new instance's data`,
    );
    const sofar = countWrites(await committedWrites(cp, c.ns, APP)).byMajor[14] ?? 0;
    const writes = await waitForWrites(cp, c.ns, { app: APP, major: 14, moreThan: sofar + 3 });
    const w = await assertWritesPresent(sql, writes);
    const v = await runAsync(
      requireBinary(),
      ['validate', '-n', c.ns, '-o', 'json'],
      { KUBECONFIG: cp.kubeconfig },
      300_000,
    );
    this.outputs.push(v);
    assert.is(v.code, 0, `${fault}: validate\n${v.stdout}\n${v.stderr}`);
    const n = countWrites(writes).byMajor;
    this.rows.push({
      ns: c.ns,
      fault,
      runs,
      rowsBefore: rowsOf(c.before as Fingerprint),
      rowsAfter: rowsOf(after),
      writes: `${w.committed} committed (${Object.entries(n)
        .map(([m, k]) => `${k} on ${m}`)
        .join(', ')}), ${w.present} present`,
    });
  }

  /** Prints the table, then: every case ran, no row lost, no secret in any output or in the audit log. */
  report(cp: ControlPlane, password: string, expected: number, outputsAtLeast: number): void {
    const table = [
      "| namespace | fault | runs | rows before | rows after | lost | application's writes |",
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...this.rows.map(
        (r) =>
          `| ${r.ns} | ${r.fault} | ${r.runs} | ${r.rowsBefore} | ${r.rowsAfter} | ${r.rowsBefore - r.rowsAfter} | ${r.writes} |`,
      ),
    ];
    process.stderr.write(`\n${table.join('\n')}\n`);
    assert.is(this.rows.length, expected);
    assert.ok(
      this.rows.every((r) => r.rowsBefore === r.rowsAfter && r.rowsBefore > 0),
      'no row lost',
    );
    assertNoSecret(cp, this.outputs, password, outputsAtLeast);
  }
}
