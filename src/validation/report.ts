import { Listr, type ListrBaseClassOptions, type ListrTask } from 'listr2';
import type { RendererName } from '../renderer.ts';
import { judgeAmcheck, judgeCollations } from '../postgres/validate-indexes.ts';
import {
  judgeConnections,
  judgeExtensions,
  judgeServer,
  judgeStatistics,
  type ValidateFinding,
} from '../postgres/validate.ts';
import { refOf } from '../postgres/workload.ts';
import { validatedPatch } from '../state/validated.ts';
import { failedJobs, judgeApplications, judgeFinished } from './checks.ts';
import { dataFinding } from './cluster-checks.ts';
import type { ValidateCtx, ValidateOptions } from './ctx.ts';

/** The `validate -o json|yaml` document; `upgrade` carries the same checks in its report. */
export interface ValidateReport {
  apiVersion: 'pgupgrade.kubectl.io/v1';
  kind: 'ValidateReport';
  namespace: string;
  workload: string;
  upgrade: { from: string; to: number; method: string; phase: string; snapshot: string | null };
  repairs: string[];
  checks: ValidateFinding[];
  summary: { pass: number; warn: number; fail: number };
  /** Whether this pass was recorded on the upgrade's record (pgupgrade.kubectl.io/validated-at), for cleanup. */
  validatedAt: boolean;
}

const notRead = (id: string, title: string, why: string): ValidateFinding => ({
  id,
  title,
  status: 'warn',
  found: `not checked: ${why}`,
});
const DATA_TITLE = 'The data equals the reference fingerprint';

/** Every check, in the order of the list, from what the tasks read. */
export function findings(ctx: ValidateCtx, opts: ValidateOptions): ValidateFinding[] {
  const s = ctx.state;
  const ns = ctx.d.namespace;
  const pod = ctx.d.pod;
  const logs = `kubectl -n ${ns} logs ${pod?.metadata.name ?? '<pod>'} -c ${ctx.d.container.name}`;
  const out: ValidateFinding[] = [
    judgeServer(
      s.to,
      ctx.server?.versionNum,
      pod && { name: pod.metadata.name, ready: pod.ready, restarts: pod.restarts?.[ctx.d.container.name] ?? 0 },
      logs,
    ),
  ];
  if (!ctx.server) {
    const why = 'the database has no Ready pod';
    out.push(notRead('connections', 'Every database accepts connections', why), notRead('data', DATA_TITLE, why));
  } else {
    out.push(
      judgeConnections(ctx.reference?.fingerprint.roles ?? {}, ctx.server, ctx.connectError, s.target?.superuser),
    );
    out.push(
      opts.dataComparedBy
        ? { id: 'data', title: DATA_TITLE, status: 'pass', found: opts.dataComparedBy }
        : (dataFinding(ctx) ??
            notRead(
              'data',
              DATA_TITLE,
              `no reference fingerprint (ConfigMap ${s.fingerprintConfigMap} is gone, or belongs to another upgrade)`,
            )),
    );
    if (!ctx.connectError) {
      out.push(judgeStatistics(ctx.dbs, s.to, opts.analyze), judgeExtensions(ctx.dbs), judgeCollations(ctx.dbs, s.to));
      if (ctx.amcheck) out.push(judgeAmcheck(ctx.amcheck));
    }
  }
  out.push(judgeApplications(s, ctx.apps, ns), judgeFinished(s, failedJobs(ctx.jobs, s), ns));
  return out;
}

const MARK: Record<ValidateFinding['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

/** One line per check, PASS, WARN or FAIL, with its details and fix. */
export function checksText(checks: ValidateFinding[]): string[] {
  return checks.flatMap((c) => [
    `${MARK[c.status]}  ${c.title}: ${c.found}`,
    ...(c.details ?? []).map((d) => `      ${d}`),
    ...(c.fix ? [`      fix: ${c.fix}`] : []),
  ]);
}

/** The text form of the report. */
export function reportText(r: ValidateReport): string {
  return [
    `validate ${r.workload} in namespace ${r.namespace}: the upgrade from ${r.upgrade.from} to ${r.upgrade.to} (--${r.upgrade.method}), recorded "${r.upgrade.phase}"`,
    ...(r.repairs.length ? [`repaired: ${r.repairs.join('; ')}`] : []),
    '',
    ...checksText(r.checks),
    '',
    summaryLine(r),
  ].join('\n');
}

/** "N passed, N warnings, N failed", and whether the pass was recorded for cleanup. */
export function summaryLine(r: ValidateReport): string {
  return (
    `${r.summary.pass} passed, ${r.summary.warn} warnings, ${r.summary.fail} failed` +
    (r.validatedAt
      ? "; recorded on the upgrade's record (pgupgrade.kubectl.io/validated-at), which cleanup waits for"
      : '')
  );
}

/**
 * Runs the checks' tasks, judges them and, when none failed on a finished upgrade, records the pass on the
 * upgrade's record (the contract with cleanup, src/state/validated.ts: the time of a pass, annotations only).
 */
export async function validateNow(
  tasks: Array<ListrTask<ValidateCtx>>,
  listOpts: ListrBaseClassOptions<ValidateCtx, RendererName, 'simple'>,
  opts: ValidateOptions,
): Promise<ValidateReport> {
  const c = { databases: [], dbs: new Map(), repairs: [], apps: [], jobs: [] } as unknown as ValidateCtx;
  await new Listr<ValidateCtx, RendererName, 'simple'>(tasks, listOpts).run(c);
  const checks = findings(c, opts);
  const count = (st: ValidateFinding['status']) => checks.filter((x) => x.status === st).length;
  const s = c.state;
  const report: ValidateReport = {
    apiVersion: 'pgupgrade.kubectl.io/v1',
    kind: 'ValidateReport',
    namespace: c.d.namespace,
    workload: refOf(s.workload),
    upgrade: { from: s.fromVersion, to: s.to, method: s.method, phase: s.phase, snapshot: s.snapshot },
    repairs: c.repairs,
    checks,
    summary: { pass: count('pass'), warn: count('warn'), fail: count('fail') },
    validatedAt: false,
  };
  if (!report.summary.fail && s.phase === 'done') {
    await c.cluster.patchObject(
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: c.d.namespace, name: c.stateConfigMap },
      validatedPatch(),
      'merge',
    );
    report.validatedAt = true;
  }
  return report;
}
