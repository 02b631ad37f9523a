import type { StepTask } from '../../engine/phases.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { buildUpgradeJob } from '../../manifests/upgrade-job.ts';
import { upgradePaths } from '../../postgres/upgrade-script.ts';
import { isDone } from '../../state/state.ts';
import { runJob } from '../../steps/job.ts';
import { cameBackDuringJob, stillDownProblem, watchStillDown } from '../../steps/still-down.ts';
import { record, st, startReference, timed, type UpgradeCtx, type UpgradeOptions, type InPlaceStep } from './ctx.ts';
import { refOf } from '../../postgres/workload.ts';
import { stoppedOf } from './stop-tasks.ts';

/** The upgrade Job; `job-started` is recorded before it is created, as rollback must know it may have run. */
export function jobPhase(timeout: number, opts: UpgradeOptions): InPlaceStep {
  return {
    title: 'Run the upgrade Job: initdb, pg_upgrade (its checks first), keep the configuration, swap the directories',
    recorded: 'job',
    records: 'step',
    step: (ctx, task) => runUpgradeJob(ctx, task, opts, timeout),
    plan: (ctx) => [{ step: 'the upgrade Job', object: buildUpgradeJob(ctx.job) }],
    rendererOptions: { persistentOutput: false, outputBar: 8 },
  };
}

/** The Job run: nothing else on the volume before or while it runs, `job` recorded when it succeeded. */
async function runUpgradeJob(ctx: UpgradeCtx, task: StepTask, opts: UpgradeOptions, timeout: number): Promise<void> {
  // The reference is read from the snapshot on a copy: only a compare inside the downtime needs it by then.
  // Else it starts once the applications are back, so that it competes with nothing in the downtime.
  if (opts.fullVerify || !ctx.shapeBefore) startReference(ctx, 3600_000);
  // Nothing but the plugin may run on the volume once pg_upgrade starts: a controller that healed the scale-down stops the run here.
  const back = await stillDownProblem(ctx.cluster, stoppedOf(ctx));
  if (back) throw new CliError(back, ExitCode.failed);
  if (!isDone(ctx.state, 'job-started')) await record(ctx, 'job-started');
  const job = buildUpgradeJob(ctx.job);
  // And while it runs: the Job's hold keeps such a pod from the data, and the plugin names who started it.
  const watch = watchStillDown(ctx.cluster, stoppedOf(ctx));
  const out = await timed(ctx, 'job', () =>
    runJob(ctx.cluster, ctx.d.namespace, job, (t) => (task.output = t.trimEnd()), timeout),
  ).finally(() => watch.stop());
  const cameBack = await watch.stop();
  ctx.jobLog = out.log;
  jobTimings(ctx, out);
  if (!out.ok) throw jobFailure(ctx, job.metadata.name, out, cameBack);
  await record(ctx, 'job');
  if (cameBack.length) throw new CliError(cameBackDuringJob(cameBack, stoppedOf(ctx), true), ExitCode.failed);
  task.title = `Run the upgrade Job ${job.metadata.name}: PostgreSQL ${st(ctx).to} is in place; the old cluster is kept as ${upgradePaths(ctx.job.pgdata, st(ctx).from, st(ctx).to).kept}`;
}

/** The Job's start and pg_upgrade's own times, from its log. */
function jobTimings(ctx: UpgradeCtx, out: { log: string; startMs: number }): void {
  ctx.timings['job-start'] = out.startMs;
  const took = /pgupgrade: pg_upgrade took (\d+) ms/.exec(out.log);
  if (took) ctx.timings.pg_upgrade = Number(took[1]);
  const checked = /pgupgrade: pg_upgrade --check took (\d+) ms/.exec(out.log);
  if (checked) ctx.timings['pg_upgrade-check'] = Number(checked[1]);
}

/** The error of a failed Job: who came back meanwhile, else its log, where the old cluster is and how to undo or retry. */
function jobFailure(
  ctx: UpgradeCtx,
  jobName: string,
  out: { log: string; reason?: string },
  cameBack: Parameters<typeof cameBackDuringJob>[0],
): CliError {
  const ns = ctx.d.namespace;
  if (cameBack.length)
    return new CliError(
      `${cameBackDuringJob(cameBack, stoppedOf(ctx), false)}\n${out.log.split('\n').slice(-40).join('\n')}`,
      ExitCode.failed,
    );
  return new CliError(
    `the upgrade Job ${ns}/${jobName} failed (${out.reason ?? 'exit code above'}). Its log:\n${out.log.split('\n').slice(-60).join('\n')}\n` +
      `The old cluster is back where it was if the log above says "released the hold"; otherwise it may still be held aside (the Job was killed, or pg_upgrade passed its point of no return): rollback puts it back.\n` +
      `Undo: kubectl pgupgrade upgrade -n ${ns} ${refOf(st(ctx).workload)} --rollback\nRetry after fixing the cause: delete the Job ` +
      `(kubectl -n ${ns} delete job ${jobName}) and run the same upgrade command`,
    ExitCode.failed,
  );
}
