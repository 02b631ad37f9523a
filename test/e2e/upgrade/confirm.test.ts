import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { requireBinary, runAsync } from '../../support/cli/binary.ts';
import { runInPty } from '../../support/cli/pty.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { stubbornApp } from '../../support/fixtures/stubborn.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  releaseNamespaces,
  resourceVersions,
  waitReady,
} from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { assertWritesPresent, committedWrites, waitForWrites, withoutWrites } from '../../support/pg/writes.ts';

// What a user sees in a terminal before and during the downtime: the warnings above the question, a "no" that is
// not a usage error, and an application that ignores SIGTERM, named with its grace period, in the tree and in
// check's estimate. The terminal is a real pseudo-terminal: the plugin asks only when stdin is one.
const test = suite('upgrade in a terminal: the confirmation, a refusal, and an application that ignores SIGTERM');
const PASSWORD = 'Confirm-E2E-S3cret';
const ns = uniqueNamespace('up-confirm');
const POD = 'circleci-postgresql-0';
const PROMPT = 'Type "yes" to go on:';
// Longer than the writer's 10 s, so that it is the one check counts; the readiness probe adds 3 + 2 s to the
// database's 0 + 2 s (fixtures/bitnami.ts).
const GRACE = 12;
const READINESS = { initialDelaySeconds: 3, periodSeconds: 2 };
const outputs: string[] = [];
const state: { before?: Fingerprint; warnings: Array<{ id: string; found: string; fix?: string }> } = { warnings: [] };

interface CheckReport {
  checks: Array<{ id: string; status: string; found: string; fix?: string }>;
  estimate: { seconds: number; formula: string } | null;
}

const upgradeInPty = async (kubeconfig: string, send: string) => {
  const r = await runInPty(
    requireBinary(),
    ['upgrade', '-n', ns, '--to', '15'],
    { KUBECONFIG: kubeconfig },
    { after: PROMPT, send },
    400_000,
  );
  outputs.push(r.output);
  return r;
};

test('set up: a seeded Bitnami 13 with its writer and an application that ignores SIGTERM', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await applyObjects(cp, [
    ...bitnamiFixture({ namespace: ns, major: 13, password: PASSWORD, appReplicas: 1 }),
    stubbornApp({ namespace: ns, name: 'stubborn', graceSeconds: GRACE, readiness: READINESS }),
  ]);
  await waitReady(cp, ns, POD);
  const sql = podSql(cp, ns, POD, 'postgres');
  await seedCluster(sql, { rows: 100 });
  await waitReady(cp, ns, await podName(cp, ns, 'app=stubborn'));
  await waitForWrites(cp, ns, { major: 13, moreThan: 5 });
  state.before = await takeFingerprint(sql);
  assert.ok(Object.keys(state.before.perDb).length >= 3);
});

test('check -o json counts the grace period and the readiness probes in the downtime estimate', async () => {
  const { cp } = await sharedEnv();
  const r = await runAsync(requireBinary(), ['check', '-n', ns, '--to', '15', '-o', 'json'], {
    KUBECONFIG: cp.kubeconfig,
  });
  outputs.push(r.stdout + r.stderr);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as CheckReport;
  const est = rep.estimate as { seconds: number; formula: string };
  assert.ok(est, 'check gives an estimate');
  assert.ok(
    est.formula.includes(`+ up to ${GRACE} s for the applications to stop (their terminationGracePeriodSeconds`),
    est.formula,
  );
  const readiness = 2 + READINESS.initialDelaySeconds + READINESS.periodSeconds;
  assert.ok(est.formula.includes(`+ ${readiness} s of readiness probes`), est.formula);
  const relations = Number(/(\d+) relations × 4 ms/.exec(est.formula)?.[1]);
  assert.ok(relations > 0, est.formula);
  assert.is(est.seconds, Math.round(5 + relations * 0.004 + GRACE + readiness), est.formula);
  state.warnings = rep.checks.filter((c) => c.status === 'warn');
  assert.ok(
    state.warnings.some((w) => w.id === 'passwords' && w.found.includes('app_md5')),
    JSON.stringify(state.warnings),
  );
});

test('on a terminal, the warnings and their fixes are shown above the question; "no" exits 1, no usage hint, nothing changed', async () => {
  const { cp } = await sharedEnv();
  assert.ok(state.warnings.length > 0, 'check found warnings');
  const before = await resourceVersions(cp, ns);
  const r = await upgradeInPty(cp.kubeconfig, 'no');
  assert.is(r.code, 1, r.output);
  const shown = r.beforeAnswer;
  const at = shown.lastIndexOf(PROMPT);
  assert.ok(shown.includes(`passed, ${state.warnings.length} warnings`), shown);
  assert.match(
    shown,
    `up to ${GRACE} s for the applications to stop`,
    'the confirmation shows the estimate with the grace period',
  );
  const first = shown.lastIndexOf(`  WARN ${state.warnings[0]!.id.padEnd(7)} `);
  for (const w of state.warnings) {
    const warn = shown.lastIndexOf(`  WARN ${w.id.padEnd(7)} ${w.found}\n`);
    assert.ok(warn >= first && warn < at, `WARN ${w.id} is shown above the question:\n${shown}`);
    if (w.fix)
      assert.ok(
        shown.indexOf(`\n               fix: ${w.fix}\n`, warn) > warn,
        `the fix of ${w.id} is shown under it:\n${shown}`,
      );
  }
  const between = shown
    .slice(first, at)
    .split('\n')
    .filter((l) => l.trim() !== '');
  assert.ok(
    between.every((l) => /^ {2}WARN |^ {15}fix: /.test(l)),
    `only the warnings sit between the first WARN line and the question:\n${between.join('\n')}`,
  );
  const after = r.output.slice(r.output.lastIndexOf(PROMPT));
  assert.match(after, 'error: not confirmed (you answered "no"); nothing was changed');
  assert.not.match(after, '--help', 'a refusal is not a usage error: no usage hint');
  assert.is(await resourceVersions(cp, ns), before, 'nothing in the namespace changed');
  // check's and the plan's commands run in the database container, whose pid 1 is the postmaster: one of their
  // processes orphaned there and killed by a signal reads to it as a crashed backend, and it resets every
  // connection and runs crash recovery (sequences jump 32 ahead).
  const log = (await cp.kubectl(['-n', ns, 'logs', POD])).stdout;
  assert.not.match(
    log,
    /terminated by signal|not properly shut down/,
    `the database never reset:\n${log
      .split('\n')
      .filter((l) => /signal|recovery|shut down/.test(l))
      .join('\n')}`,
  );
});

test('"yes" upgrades; the tree says the application that ignored SIGTERM was killed after its grace period', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeInPty(cp.kubeconfig, 'yes');
  assert.is(r.code, 0, r.output);
  const stubborn = new RegExp(
    `deploy/stubborn \\(1 → 0, stopped in (\\d+\\.\\d) s: it did not stop on SIGTERM and was killed after its ` +
      `terminationGracePeriodSeconds \\(${GRACE} s\\)\\)`,
  ).exec(r.output);
  assert.ok(stubborn, `the apps-down line names the grace period:\n${r.output}`);
  assert.ok(Number(stubborn[1]) >= GRACE * 0.9, `it took its grace period: ${stubborn[1]} s`);
  const frontend = /deploy\/circleci-frontend \(1 → 0, stopped in (\d+\.\d) s([^)]*)\)/.exec(r.output);
  assert.ok(frontend, r.output);
  assert.is(frontend[2], '', 'the writer stops on SIGTERM: no grace-period note');
  assert.match(r.output, `StatefulSet/circleci-postgresql in ${ns} runs PostgreSQL 15 (was 13.`);
  const sql = podSql(cp, ns, POD, 'postgres');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 15);
  assert.equal(
    compareFingerprints(withoutWrites(state.before as Fingerprint), withoutWrites(await takeFingerprint(sql)), {
      extensionUpdates: true,
    }),
    [],
  );
  await waitForWrites(cp, ns, { major: 15, moreThan: 3 });
  await assertWritesPresent(sql, await committedWrites(cp, ns));
  await waitReady(cp, ns, await podName(cp, ns, 'app=stubborn'));
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  const { cp } = await sharedEnv();
  assert.is(outputs.length, 3);
  for (const o of outputs) assert.not.ok(o.includes(PASSWORD), 'the password leaked into the output');
  const audit = fs.readFileSync(cp.auditLog, 'utf8');
  assert.not.ok(
    audit.includes(PASSWORD) || audit.includes(encodeURIComponent(PASSWORD)),
    'the password reached the audit log',
  );
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
