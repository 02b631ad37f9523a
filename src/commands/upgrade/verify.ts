import type { ListrTask } from 'listr2';
import { readPassword } from '../../server/gather.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { ANALYZE_SCRIPT } from '../../postgres/upgrade-script.ts';
import { isDone } from '../../state/state.ts';
import { record, st, timed, type UpgradeCtx, type UpgradeOptions } from './ctx.ts';
import { refOf } from '../../postgres/workload.ts';
import { runSql, scaleAppsUp, verifyData } from './verify-data.ts';

/** Verify, the applications back, statistics. */
export function createVerifyTasks(
  opts: UpgradeOptions,
  timeout: number,
  beforeAnalyze: Array<ListrTask<UpgradeCtx>> = [],
): Array<ListrTask<UpgradeCtx>> {
  const notManual = (ctx: UpgradeCtx) => !ctx.stoppedForManualPatch;
  return [
    {
      title: 'Verify: every relation and its size, then the content against the reference fingerprint',
      enabled: notManual,
      skip: (ctx) => isDone(ctx.state, 'verified') && 'done in an earlier run',
      task: (ctx, task) => verifyData(ctx, task, opts, timeout),
    },
    {
      title: 'Scale the applications back up and wait for their rollouts',
      enabled: notManual,
      skip: (ctx) => isDone(ctx.state, 'apps-up') && 'done in an earlier run',
      task: (ctx, task) => scaleAppsBackUp(ctx, task, timeout),
    },
    // What comes between the applications' return and `done` (the GitOps controllers' resume).
    ...beforeAnalyze,
    {
      title: 'Rebuild the planner statistics (vacuumdb --analyze-in-stages) while the applications run',
      enabled: notManual,
      skip: (ctx) => isDone(ctx.state, 'done') && 'done in an earlier run',
      task: (ctx, task) => rebuildStatistics(ctx, task),
    },
  ];
}

/** The applications back (idempotent: they may have started during verify), and the downtime measured. */
async function scaleAppsBackUp(ctx: UpgradeCtx, task: { title: string }, timeout: number): Promise<void> {
  const s = st(ctx);
  // Started during verify when the shape was equal; after a resume they are scaled here (idempotent).
  await timed(ctx, ctx.timings['apps-up'] !== undefined ? 'apps-up-again' : 'apps-up', () => scaleAppsUp(ctx, timeout));
  if (ctx.timings.downtime && ctx.timings.downtime > 1e12) ctx.timings.downtime = Date.now() - ctx.timings.downtime;
  await record(ctx, 'apps-up');
  task.title = s.apps.length
    ? `Scale the applications back up: ${s.apps.map((a) => `${refOf(a)} (${a.replicas})`).join(', ')} ready`
    : 'Scale the applications back up: none to scale';
}

/** vacuumdb --analyze-in-stages while the applications run; a failure leaves the upgrade done. */
async function rebuildStatistics(ctx: UpgradeCtx, task: { title: string }): Promise<void> {
  const t = Date.now();
  ctx.password ??= await readPassword(ctx.cluster, ctx.d);
  try {
    await runSql(ctx, ctx.d, ANALYZE_SCRIPT, String(st(ctx).to), 'vacuumdb');
  } catch (err) {
    throw new CliError(`${(err as Error).message}; the upgrade itself is done: run it again by hand`, ExitCode.failed);
  }
  await record(ctx, 'done');
  task.title = `Rebuild the planner statistics: ${((Date.now() - t) / 1000).toFixed(1)} s`;
}
