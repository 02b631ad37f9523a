import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { blockingError } from '../../exit-codes.ts';
import { printReport, type Io } from '../../output.ts';
import { chooseRenderer, detectRendererEnv, type OutputFormat } from '../../renderer.ts';
import { judgeAmcheck, judgeCollations, judgeConnections, judgeExtensions, judgeServer, judgeStatistics, type ValidateFinding } from '../../postgres/validate.ts';
import { failedJobs, judgeApplications, judgeFinished } from './checks.ts';
import { refOf } from '../../postgres/workload.ts';
import { dataFinding } from './cluster-checks.ts';
import { createValidateTasks, type ValidateCtx, type ValidateOptions } from './tasks.ts';
import { validatedPatch } from '../../state/validated.ts';

/** The `validate -o json|yaml` document. */
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

const notRead = (id: string, title: string, why: string): ValidateFinding => ({ id, title, status: 'warn', found: `not checked: ${why}` });

/** Every check, in the order of the list, from what the tasks read. */
export function findings(ctx: ValidateCtx, opts: ValidateOptions): ValidateFinding[] {
  const s = ctx.state;
  const ns = ctx.d.namespace;
  const pod = ctx.d.pod;
  const logs = `kubectl -n ${ns} logs ${pod?.metadata.name ?? '<pod>'} -c ${ctx.d.container.name}`;
  const out: ValidateFinding[] = [judgeServer(s.to, ctx.server?.versionNum,
    pod && { name: pod.metadata.name, ready: pod.ready, restarts: pod.restarts?.[ctx.d.container.name] ?? 0 }, logs)];
  if (!ctx.server) {
    const why = 'the database has no Ready pod';
    out.push(notRead('connections', 'Every database accepts connections', why), notRead('data', 'The data equals the reference fingerprint', why));
  } else {
    out.push(judgeConnections(ctx.reference?.fingerprint.roles ?? {}, ctx.server, ctx.connectError));
    out.push(dataFinding(ctx) ?? notRead('data', 'The data equals the reference fingerprint',
      `no reference fingerprint (ConfigMap ${s.fingerprintConfigMap} is gone, or belongs to another upgrade)`));
    if (!ctx.connectError) {
      out.push(judgeStatistics(ctx.dbs, s.to, opts.analyze), judgeExtensions(ctx.dbs), judgeCollations(ctx.dbs, s.to));
      if (ctx.amcheck) out.push(judgeAmcheck(ctx.amcheck));
    }
  }
  out.push(judgeApplications(s, ctx.apps, ns), judgeFinished(s, failedJobs(ctx.jobs, s), ns));
  return out;
}

const MARK: Record<ValidateFinding['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

function reportText(r: ValidateReport): string {
  return [
    `validate ${r.workload} in namespace ${r.namespace}: the upgrade from ${r.upgrade.from} to ${r.upgrade.to} (--${r.upgrade.method}), recorded "${r.upgrade.phase}"`,
    ...(r.repairs.length ? [`repaired: ${r.repairs.join('; ')}`] : []),
    '',
    ...r.checks.flatMap((c) => [`${MARK[c.status]}  ${c.title}: ${c.found}`, ...(c.details ?? []).map((d) => `      ${d}`),
      ...(c.fix ? [`      fix: ${c.fix}`] : [])]),
    '',
    `${r.summary.pass} passed, ${r.summary.warn} warnings, ${r.summary.fail} failed` +
      (r.validatedAt ? '; recorded on the upgrade\'s record (pgupgrade.kubectl.io/validated-at), which cleanup waits for' : ''),
  ].join('\n');
}

/** `validate`: proves that the upgraded database is whole and ready; exit 3 on any FAIL. */
export async function runValidate(ctx: CommandContext, opts: ValidateOptions & { output: OutputFormat }, io: Io): Promise<void> {
  const renderer = chooseRenderer(detectRendererEnv({ ...ctx.flags, output: opts.output }));
  const list = new Listr<ValidateCtx, typeof renderer, 'simple'>(createValidateTasks(() => ctx.cluster(), opts),
    { renderer, fallbackRenderer: 'simple', exitOnError: true, collectErrors: false, registerSignalListeners: false });
  const c = { databases: [], dbs: new Map(), repairs: [], apps: [], jobs: [] } as unknown as ValidateCtx;
  await list.run(c);
  const checks = findings(c, opts);
  const count = (st: ValidateFinding['status']) => checks.filter((x) => x.status === st).length;
  const s = c.state;
  const report: ValidateReport = {
    apiVersion: 'pgupgrade.kubectl.io/v1', kind: 'ValidateReport', namespace: c.d.namespace, workload: refOf(s.workload),
    upgrade: { from: s.fromVersion, to: s.to, method: s.method, phase: s.phase, snapshot: s.snapshot },
    repairs: c.repairs, checks, summary: { pass: count('pass'), warn: count('warn'), fail: count('fail') }, validatedAt: false,
  };
  if (!report.summary.fail && s.phase === 'done') {
    // The contract with cleanup (src/state/validated.ts): the time of a pass, on the record's annotations only.
    await c.cluster.patchObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: c.d.namespace, name: c.stateConfigMap }, validatedPatch(), 'merge');
    report.validatedAt = true;
  }
  await printReport(io, opts.output, report, reportText);
  if (report.summary.fail) throw blockingError(`validate found ${report.summary.fail} failed check${report.summary.fail > 1 ? 's' : ''} (above), each with its fix`);
}
