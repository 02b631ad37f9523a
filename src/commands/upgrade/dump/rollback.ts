import type { ListrTask } from 'listr2';
import type { Cluster } from '../../../k8s/cluster.ts';
import { connectTask } from '../../../connect-task.ts';
import { discover, DUMP_SOURCE, type SourceDiscovery } from '../../../discovery/discover.ts';
import { keepsSourceRunning } from '../../../postgres/dump-source.ts';
import { CliError, ExitCode } from '../../../exit-codes.ts';
import { fingerprintVia } from '../../../fingerprint/read.ts';
import { loadFingerprint } from '../../../fingerprint/store.ts';
import { compareFingerprints } from '../../../postgres/fingerprint.ts';
import { refOf } from '../../../postgres/workload.ts';
import { liveReach, readPassword } from '../../../server/gather.ts';
import { isDumpDone } from '../../../state/dump-state.ts';
import { scaleTo, waitPodsGone, waitWorkloadReady } from '../../../steps/workload.ts';
import { DUMP_PAUSE, dst, phase, type DumpCtx } from './ctx.ts';
import { createResumeTask } from '../gitops.ts';
import { appsUp, restoreServices } from './cutover.ts';
import { dumpReferenceName } from '../../../state/dump-state.ts';
import { putBackSql, shouldRestartAfterLoad } from '../../../postgres/dump-plan.ts';
import { instanceSelector, type DumpTarget } from '../../../manifests/dump-target.ts';
import { resolveExisting } from './existing.ts';
import { restartTarget, targetSql } from './instance.ts';
import { readRecorded } from '../../../state/recorded.ts';
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

/** The old instance's data against its fingerprint taken by the upgrade: the differences, or undefined when none was taken. */
async function oldInstanceDiff(ctx: DumpCtx, d: SourceDiscovery): Promise<string[] | undefined> {
  const reference = await loadFingerprint(ctx.cluster, d.namespace, dumpReferenceName(ctx.stateName));
  if (!reference) return undefined;
  return compareFingerprints(
    reference,
    await fingerprintVia(ctx.cluster, d, liveReach(d), await readPassword(ctx.cluster, d)),
  );
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
      task: async (ctx, task) => {
        const s = dst(ctx);
        const gone = `${refOf(s.workload)} kept its data in its container's writable layer`;
        const keep = `Nothing was changed: the new instance ${s.target.kind} ${s.target.name} keeps serving`;
        if (!ctx.d.pod?.ready)
          throw new CliError(
            `${gone}, and it has no ready pod now: its data went with its container, there is nothing to roll back to. ${keep}`,
            ExitCode.failed,
          );
        const diff = await oldInstanceDiff(ctx, ctx.d);
        if (diff?.length) {
          throw new CliError(
            `${gone}, and it differs from its fingerprint taken by the upgrade (was its container restarted or replaced?):\n  ${diff.join('\n  ')}\n${keep}`,
            ExitCode.failed,
          );
        }
        task.title = `The old instance still holds its data: pod ${ctx.d.pod.metadata.name}, equal to its fingerprint taken by the upgrade`;
      },
    },
    {
      title: 'Scale the applications down',
      task: async (ctx) => {
        for (const a of dst(ctx).apps) await scaleTo(ctx.cluster, ns(ctx), a, 0);
        for (const a of dst(ctx).apps) {
          const w = await ctx.cluster.getWorkload(ns(ctx), a.kind, a.name);
          if (w)
            await waitPodsGone(
              ctx.cluster,
              ns(ctx),
              w.selector,
              `the pods of ${refOf(a)}`,
              timeout,
              w.matchExpressions,
            );
        }
      },
    },
    {
      title: 'Point the Services back at the old instance',
      // Whether or not the cutover was recorded: one stopped half-way has moved some Services already.
      enabled: (ctx) => dst(ctx).cutover,
      task: async (ctx, task) => {
        const s = dst(ctx);
        // An existing target's pods by its own selector (what its cutover used); its workload gone, that is unknown.
        const at = s.target.existing
          ? (await ctx.cluster.getWorkload(ns(ctx), s.target.kind, s.target.name))?.selector
          : instanceSelector(s.target.name);
        const { moved, left } = await restoreServices(ctx.cluster, ns(ctx), s, at);
        const theirs = left.length
          ? `; left as they are (pointed elsewhere since the cutover, not at ${s.target.name}): ${left.join(', ')}`
          : '';
        task.title = `Point the Services back at the old instance: ${moved.join(', ') || 'none led to the new instance'}${theirs}`;
      },
    },
    {
      title: 'Start the old instance and verify its fingerprint',
      task: async (ctx, task) => {
        const s = dst(ctx);
        await scaleTo(ctx.cluster, ns(ctx), s.workload, s.workload.replicas);
        await waitWorkloadReady(ctx.cluster, ns(ctx), s.workload, timeout);
        const d = await discover(ctx.cluster, ns(ctx), refOf(s.workload), opts.appSelector, {
          superuserSecret: opts.superuserSecret,
          ...DUMP_SOURCE,
        });
        ctx.d = { ...ctx.d, pod: d.pod, podsByIp: d.podsByIp };
        if (!s.cutover) {
          task.title = 'Start the old instance: it served all along (--no-cutover): nothing to compare';
          return;
        }
        const diff = await oldInstanceDiff(ctx, d);
        if (!diff) {
          task.title =
            'Start the old instance: ready (the upgrade stopped before its fingerprint was taken: nothing to compare)';
          return;
        }
        if (diff.length)
          throw new CliError(
            `the old instance differs from its fingerprint taken by the upgrade:\n  ${diff.join('\n  ')}`,
            ExitCode.failed,
          );
        task.title = 'Start the old instance and verify its fingerprint: equal to the one taken by the upgrade';
      },
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
      enabled: (ctx) =>
        dst(ctx).target.existing === true &&
        isDumpDone(ctx.state, 'target-tuned') &&
        !isDumpDone(ctx.state, 'settings-back'),
      task: async (ctx) => {
        ctx.existing = await resolveExisting(ctx.cluster, ns(ctx), refOf(dst(ctx).target));
        ctx.target = { name: dst(ctx).target.name, cutoverSelector: ctx.existing.selector } as DumpTarget;
        await targetSql(
          ctx,
          putBackSql(dst(ctx).settings, dst(ctx).targetBefore),
          "putting the existing target's settings back",
        );
        if (shouldRestartAfterLoad(dst(ctx).settings)) await restartTarget(ctx, timeout);
      },
    },
    // --pause-gitops: what the upgrade paused is put back as it was, once the applications run on the old instance again
    // (before the rollback is recorded: a rollback stopped after it would find nothing left to roll back, the owners still paused).
    createResumeTask(DUMP_PAUSE, () => true),
    phase('rolled-back', 'Stop the new instance (kept, with its volume) and record the rollback', async (ctx) => {
      const s = dst(ctx);
      if (s.target.existing)
        return `the existing ${s.target.kind} ${s.target.name} (--target) left running, as it was given: the loaded data stays in it`;
      if (await ctx.cluster.getWorkload(ns(ctx), s.target.kind, s.target.name))
        await scaleTo(ctx.cluster, ns(ctx), s.target, 0);
      return `${s.target.kind} ${s.target.name} scaled to 0; PVC ${s.target.pvc} kept`;
    }),
  ];
}
