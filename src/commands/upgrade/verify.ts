import type { StepTask } from '../../engine/phases.ts';
import { readPassword } from '../../server/reach.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { ANALYZE_SCRIPT } from '../../postgres/upgrade-script.ts';
import { st, timed, type UpgradeCtx, type UpgradeOptions, type InPlaceStep } from './ctx.ts';
import { scaleStep } from './planned.ts';
import { refOf } from '../../postgres/workload.ts';
import { runSql, scaleAppsUp, verifyData } from './verify-data.ts';

/** Verify, the applications back, statistics. */
export function verifyPhases(
  opts: UpgradeOptions,
  timeout: number,
  beforeAnalyze: Array<InPlaceStep> = [],
): Array<InPlaceStep> {
  const notManual = (ctx: UpgradeCtx) => !ctx.stoppedForManualPatch;
  return [
    {
      title: 'Verify: every relation and its size, then the content against the reference fingerprint',
      // Recorded by the step: as soon as the content is equal, the applications may already be starting.
      recorded: 'verified',
      records: 'step',
      when: notManual,
      step: (ctx, task) => verifyData(ctx, task, opts, timeout),
    },
    {
      title: 'Scale the applications back up and wait for their rollouts',
      recorded: 'apps-up',
      when: notManual,
      step: (ctx, task) => scaleAppsBackUp(ctx, task, timeout),
      plan: (ctx) =>
        st(ctx).apps.map((a) => scaleStep(ctx.d.namespace, a, a.replicas, 'scale the application back up')),
    },
    // What comes between the applications' return and `done` (the GitOps controllers' resume).
    ...beforeAnalyze,
    {
      title: 'Rebuild the planner statistics (vacuumdb --analyze-in-stages) while the applications run',
      recorded: 'done',
      when: notManual,
      step: (ctx, task) => rebuildStatistics(ctx, task),
    },
  ];
}

/** The applications back (idempotent: they may have started during verify), and the downtime measured. */
async function scaleAppsBackUp(ctx: UpgradeCtx, task: StepTask, timeout: number): Promise<void> {
  const s = st(ctx);
  // Started during verify when the shape was equal; after a resume they are scaled here (idempotent).
  await timed(ctx, ctx.timings['apps-up'] !== undefined ? 'apps-up-again' : 'apps-up', () => scaleAppsUp(ctx, timeout));
  if (ctx.timings.downtime && ctx.timings.downtime > 1e12) ctx.timings.downtime = Date.now() - ctx.timings.downtime;
  task.title = s.apps.length
    ? `Scale the applications back up: ${s.apps.map((a) => `${refOf(a)} (${a.replicas})`).join(', ')} ready`
    : 'Scale the applications back up: none to scale';
}

/** vacuumdb --analyze-in-stages while the applications run; a failure leaves the upgrade done. */
async function rebuildStatistics(ctx: UpgradeCtx, task: StepTask): Promise<void> {
  const t = Date.now();
  ctx.password ??= await readPassword(ctx.cluster, ctx.d);
  try {
    await runSql(ctx, ctx.d, ANALYZE_SCRIPT, String(st(ctx).to), 'vacuumdb');
  } catch (err) {
    throw new CliError(`${(err as Error).message}; the upgrade itself is done: run it again by hand`, ExitCode.failed);
  }
  task.title = `Rebuild the planner statistics: ${((Date.now() - t) / 1000).toFixed(1)} s`;
}
