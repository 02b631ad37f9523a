import type { ListrTask } from 'listr2';
import type { Cluster } from '../../k8s/cluster.ts';
import { connectTask } from '../../connect-task.ts';
import { createPreflightTasks } from '../../preflight/tasks.ts';
import type { UpgradeCtx, UpgradeOptions } from './ctx.ts';
import { findWorkload } from './find-workload.ts';
import { planUpgrade } from './plan-upgrade.ts';

export type { UpgradeCtx, UpgradeOptions } from './ctx.ts';
export { createApplyTasks } from './apply.ts';

/** Whether the preflight runs: not on a resumed run, and for a crash-looping bumped image only once it is stopped. */
const planning = (ctx: UpgradeCtx): boolean =>
  !ctx.resuming && !ctx.nothingToDo && (!ctx.bumped || !!ctx.bumpedStopped);

/** The read-only part: find the workload and any recorded upgrade, run check's blocking checks, make the plan. */
export function createPlanTasks(connect: () => Promise<Cluster>, opts: UpgradeOptions): Array<ListrTask<UpgradeCtx>> {
  const checkOpts = {
    workload: opts.workload,
    to: opts.to,
    method: opts.method,
    appSelector: opts.appSelector,
    image: opts.jobImage,
    workloadImage: opts.image,
    superuserSecret: opts.superuserSecret,
  };
  return [
    connectTask<UpgradeCtx>(connect),
    {
      title: 'Find the PostgreSQL workload and any upgrade already under way',
      task: async (ctx, task) => {
        const title = await findWorkload(ctx, opts);
        if (title) task.title = title;
      },
    },
    {
      title: 'Preflight: the blocking checks of check',
      enabled: planning,
      task: (_ctx, task) =>
        task.newListr(createPreflightTasks<UpgradeCtx>(checkOpts), {
          exitOnError: true,
        }),
    },
    {
      title: 'Judge the preflight and plan the upgrade',
      enabled: planning,
      task: async (ctx, task) => {
        task.title = await planUpgrade(ctx, opts, checkOpts);
      },
    },
  ];
}
