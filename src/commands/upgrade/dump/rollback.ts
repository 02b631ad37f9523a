import type { ListrTask } from 'listr2';
import type { Cluster } from '../../../k8s/cluster.ts';
import { connectTask } from '../../../connect-task.ts';
import { discover, DUMP_SOURCE } from '../../../discovery/discover.ts';
import { keepsSourceRunning } from '../../../postgres/dump-source.ts';
import { refOf } from '../../../postgres/workload.ts';
import { readPassword } from '../../../server/reach.ts';
import { isDumpDone, leftChanged } from '../../../state/dump-state.ts';
import { readRecorded } from '../../../state/recorded.ts';
import { scaleTo } from '../../../steps/workload.ts';
import { createResumeTask } from '../gitops.ts';
import { DUMP_PAUSE, dst, phase, phaseOfDump, type DumpCtx } from './ctx.ts';
import { appsUp } from './cutover.ts';
import {
  checkOldInstanceHolds,
  pointServicesBack,
  putTargetSettingsBack,
  scaleAppsDown,
  startOldInstance,
} from './rollback-steps.ts';
import { makeSourceWritable } from './source.ts';

export interface DumpRollbackOptions {
  workload?: string;
  appSelector: Record<string, string>;
  timeoutSeconds: number;
  superuserSecret?: { name: string; key: string };
}

/** Finds the workload and its dump record; `ctx.state` stays unset when there is none (the in-place rollback's turn). */
export function createDumpRollbackFindTasks(
  connect: () => Promise<Cluster>,
  opts: DumpRollbackOptions,
): Array<ListrTask<DumpCtx>> {
  return [
    connectTask<DumpCtx>(connect),
    {
      title: 'Find the workload and its upgrade by dump',
      task: async (ctx, task) => {
        ctx.timings = {};
        ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, opts.appSelector, {
          superuserSecret: opts.superuserSecret,
          ...DUMP_SOURCE,
        });
        const rec = await readRecorded(ctx.cluster, ctx.d);
        ctx.stateName = rec.names.dump;
        // A dump upgrade rolled back already, or one over which an upgrade in place is unfinished (readRecorded's
        // precedence), leaves the rollback to the in-place one. Both records are bound to the workload found.
        const active = rec.active;
        if (active?.method !== 'dump' || active.state.phase === 'rolled-back') return;
        const s = active.state;
        ctx.stateVersion = active.cm.metadata.resourceVersion;
        ctx.state = s;
        ctx.resuming = true;
        task.title = `Found an upgrade by dump of ${refOf(ctx.state.workload)} to ${ctx.state.target.name} (PostgreSQL ${ctx.state.to}), phase "${ctx.state.phase}"`;
      },
    },
  ];
}

/**
 * Back to the old instance: the applications stopped, the Services back, the old instance up and verified, the
 * applications back. An old instance without a volume was left running (keepsSourceRunning): it is checked first,
 * before anything changes, since its data exists only in its running container.
 */
export function createDumpRollbackTasks(opts: DumpRollbackOptions): Array<ListrTask<DumpCtx>> {
  const timeout = opts.timeoutSeconds * 1000;
  const ns = (ctx: DumpCtx) => ctx.d.namespace;
  return [
    {
      title: 'Check that the old instance still holds its data (it has no volume: only its running container has it)',
      enabled: (ctx) => keepsSourceRunning(dst(ctx)) && isDumpDone(ctx.state, 'load-started'),
      task: (ctx, task) => checkOldInstanceHolds(ctx, task),
    },
    {
      title: 'Scale the applications down',
      task: (ctx) => scaleAppsDown(ctx, timeout),
    },
    {
      title: 'Point the Services back at the old instance',
      // Whether or not the cutover was recorded: one stopped half-way has moved some Services already.
      enabled: (ctx) => dst(ctx).cutover,
      task: (ctx, task) => pointServicesBack(ctx, task),
    },
    {
      title: 'Start the old instance and verify its fingerprint',
      task: (ctx, task) => startOldInstance(ctx, task, opts, timeout),
    },
    {
      // Made read-only for the load (the record holds its own value from before): writable again before the applications.
      title: 'Make the old instance writable again (default_transaction_read_only as it was before the upgrade)',
      enabled: (ctx) => dst(ctx).sourceBefore !== undefined,
      task: async (ctx) => {
        await makeSourceWritable(ctx, ctx.d, await readPassword(ctx.cluster, ctx.d));
      },
    },
    {
      title: 'Scale the applications back up',
      task: async (ctx, task) => {
        task.title = `Scale the applications back up: ${await appsUp(ctx.cluster, ns(ctx), dst(ctx), timeout)}`;
      },
    },
    {
      // The plugin's own instance is stopped below; an existing one keeps running, so its durable settings come back.
      title: "Put the existing target's durable settings back (it was tuned for the load)",
      // As the record says it was left (leftChanged): tuned once its prior settings were kept, though a Ctrl-C or a
      // kill came before target-tuned was recorded.
      enabled: (ctx) => dst(ctx).target.existing === true && leftChanged(dst(ctx)).tuned,
      task: (ctx) => putTargetSettingsBack(ctx, timeout),
    },
    // --pause-gitops: what the upgrade paused is put back as it was, once the applications run on the old instance again
    // (before the rollback is recorded: a rollback stopped after it would find nothing left to roll back, the owners still paused).
    createResumeTask(DUMP_PAUSE, () => true),
    phaseOfDump(
      phase('rolled-back', 'Stop the new instance (kept, with its volume) and record the rollback', async (ctx) => {
        const s = dst(ctx);
        if (s.target.existing)
          return `the existing ${s.target.kind} ${s.target.name} (--target) left running, as it was given: the loaded data stays in it`;
        if (await ctx.cluster.getWorkload(ns(ctx), s.target.kind, s.target.name))
          await scaleTo(ctx.cluster, ns(ctx), s.target, 0);
        return `${s.target.kind} ${s.target.name} scaled to 0; PVC ${s.target.pvc} kept`;
      }),
    ),
  ];
}
