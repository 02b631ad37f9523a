import type { StepTask } from '../../engine/phases.ts';
import { tagMajor } from '../../postgres/workload.ts';
import { waitSnapshot } from '../../volume-snapshots/take.ts';
import { isDone, type UpgradeState } from '../../state/state.ts';
import { hasDataLayout, patchDataLayout, patchImage, scaleTo, waitWorkloadReady } from '../../steps/workload.ts';
import { describeStrategy, restoreStrategyPatch } from '../../postgres/strategy.ts';
import { restoreStrategy } from '../../steps/strategy.ts';
import { record, st, timed, writeState, type UpgradeCtx, type UpgradeOptions, type InPlaceStep } from './ctx.ts';
import { scaleStep, strategyStep, workloadPatchStep } from './planned.ts';

/**
 * Whether the new server may only start once the snapshot is ready to use: in link mode the new cluster shares
 * the old one's files, and --swap moved them, so from its first start the snapshot is the only way back.
 */
export function shouldAwaitSnapshotBeforeStart(s: UpgradeState): boolean {
  return s.snapshot !== null && (s.method === 'link' || s.method === 'swap');
}

/**
 * Before the run stops for the user's own change (--no-patch-workload): whoever applies it starts the new server,
 * so the way back must exist first (the snapshot ready, for link and swap) and the record must say that the new
 * server may run from now on.
 */
async function handOver(ctx: UpgradeCtx): Promise<void> {
  const s = st(ctx);
  if (shouldAwaitSnapshotBeforeStart(s))
    await waitSnapshot(ctx.cluster, ctx.d.namespace, s.snapshot as string, 'ready', 3600_000);
  if (!s.handedOverAt) {
    ctx.state = { ...s, handedOverAt: new Date().toISOString() };
    await writeState(ctx);
  }
}

/** Points the workload at the new major and starts it; the point of no return is guarded by the snapshot. */
export function startPhases(opts: UpgradeOptions, timeout: number): Array<InPlaceStep> {
  const notManual = (ctx: UpgradeCtx) => !ctx.stoppedForManualPatch;
  return [
    {
      title: 'Point the workload at the new major',
      // Recorded by the step: not when it is left to the user (--no-patch-workload).
      recorded: 'workload-patched',
      records: 'step',
      step: (ctx, task) => pointAtNewMajor(ctx, task, opts),
      plan: (ctx) => (opts.patchWorkload ? [workloadPatchStep(st(ctx), ctx.d.namespace)] : []),
    },
    {
      title: 'Wait until the snapshot is ready to use: the new server starts only when there is a way back',
      when: (ctx) => notManual(ctx) && shouldAwaitSnapshotBeforeStart(st(ctx)),
      skip: (ctx) => isDone(ctx.state, 'db-start') && 'done in an earlier run',
      step: (ctx, task) => snapshotReady(ctx, task),
    },
    {
      title: 'Start the database on the new major and wait until it is ready',
      recorded: 'db-up',
      when: notManual,
      step: (ctx, task) => startNewServer(ctx, task, timeout),
      plan: (ctx) => [scaleStep(ctx.d.namespace, st(ctx).workload, st(ctx).workload.replicas, 'start the database')],
    },
    {
      // Not a phase of its own: the patch is idempotent, so a resumed run simply makes it again.
      title: "Put the Deployment's own strategy back",
      when: (ctx) => notManual(ctx) && !!st(ctx).strategy,
      step: (ctx, task) => strategyBack(ctx, task),
      plan: (ctx) => {
        const strategy = st(ctx).strategy;
        return strategy
          ? [
              strategyStep(
                ctx,
                restoreStrategyPatch(strategy),
                "put the Deployment's own strategy back once the new server is up",
              ),
            ]
          : [];
      },
    },
  ];
}

/** Waits for the snapshot to be ready to use (link and swap: from the new server's first start it is the way back). */
async function snapshotReady(ctx: UpgradeCtx, task: StepTask): Promise<void> {
  const rec = await timed(ctx, 'snapshot-ready', () =>
    waitSnapshot(ctx.cluster, ctx.d.namespace, st(ctx).snapshot as string, 'ready', 3600_000),
  );
  task.title = `Wait until the snapshot is ready to use: ${rec.name} is ready (--${st(ctx).method}: from the new server's first start it is the way back)`;
}

/** The Deployment's own strategy back, now that the new server is up. */
async function strategyBack(ctx: UpgradeCtx, task: StepTask): Promise<void> {
  const s = st(ctx);
  const strategy = s.strategy as NonNullable<UpgradeState['strategy']>;
  await restoreStrategy(ctx.cluster, ctx.d.namespace, s.workload.name, strategy);
  task.title = `Put the Deployment's own strategy back: Recreate → ${describeStrategy(strategy)}, now that PostgreSQL ${s.to} is up`;
}

/** Patches the image (and the data's new place, if it moved), unless the workload runs it already or the user does it. */
async function pointAtNewMajor(ctx: UpgradeCtx, task: StepTask, opts: UpgradeOptions): Promise<void> {
  const s = st(ctx);
  const w = await ctx.cluster.readObject({
    apiVersion: 'apps/v1',
    kind: s.workload.kind,
    namespace: ctx.d.namespace,
    name: s.workload.name,
  });
  const current =
    ((w?.spec?.template?.spec?.containers ?? []) as Array<{ name: string; image?: string }>).find(
      (c) => c.name === s.container,
    )?.image ?? '';
  const r = s.relayout;
  const laidOut = !r || hasDataLayout(w, s.container, { mountPath: r.toMount, pgdata: r.pgdata });
  if ((tagMajor(current) === s.to || (s.targetImage && current === s.targetImage)) && laidOut) {
    task.title = `Point the workload at the new major: it already runs ${current}`;
  } else if (!opts.patchWorkload) {
    await handOver(ctx);
    ctx.stoppedForManualPatch = true;
    task.title = 'Point the workload at the new major: left to you (--no-patch-workload); see below';
    return;
  } else if (r) {
    const image = tagMajor(current) === s.to ? current : s.targetImage;
    await patchDataLayout(
      ctx.cluster,
      ctx.d.namespace,
      s.workload,
      s.container,
      image,
      { mountPath: r.fromMount, pgdata: r.pgdataEnv },
      { mountPath: r.toMount, pgdata: r.pgdata },
      w,
    );
    task.title = `Point the workload at the new major: ${s.container} image ${s.oldImage} → ${image}, the claim at ${r.toMount}, PGDATA=${r.pgdata}`;
  } else {
    await patchImage(ctx.cluster, ctx.d.namespace, s.workload, s.container, s.targetImage);
    task.title = `Point the workload at the new major: ${s.container} image ${s.oldImage} → ${s.targetImage}`;
  }
  await record(ctx, 'workload-patched');
}

/** Starts the database on the new major, `db-start` recorded first, and waits until it is ready. */
async function startNewServer(ctx: UpgradeCtx, task: StepTask, timeout: number): Promise<void> {
  const s = st(ctx);
  // Recorded before the first start: from here on a rollback must not start the old cluster on these files.
  if (!isDone(ctx.state, 'db-start')) await record(ctx, 'db-start');
  await timed(ctx, 'db-up', async () => {
    await scaleTo(ctx.cluster, ctx.d.namespace, s.workload, s.workload.replicas);
    await waitWorkloadReady(ctx.cluster, ctx.d.namespace, s.workload, timeout);
  });
  task.title = `Start the database on PostgreSQL ${s.to}: ${s.workload.replicas} replica${s.workload.replicas > 1 ? 's' : ''} ready`;
}
