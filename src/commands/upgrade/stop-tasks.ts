import type { StepTask } from '../../engine/phases.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { createSnapshot, upgradeSnapshotClass, waitSnapshot } from '../../volume-snapshots/take.ts';
import type { UpgradeState } from '../../state/state.ts';
import { describeStrategy, RECREATE_PATCH } from '../../postgres/strategy.ts';
import { switchToRecreate } from '../../steps/strategy.ts';
import { scaleTo, waitDetached } from '../../steps/workload.ts';
import { rollbackOf, waitScaledDown, type Stopped } from '../../steps/still-down.ts';
import { st, timed, writeState, type UpgradeCtx, type UpgradeOptions, type InPlaceStep } from './ctx.ts';
import { scaleStep, snapshotSteps, strategyStep } from './planned.ts';

/** What the stop step says of a RollingUpdate Deployment's strategy, which it sets aside. */
const setAside = (s: UpgradeState) =>
  s.strategy ? `; strategy ${describeStrategy(s.strategy)} → Recreate until the new server is up` : '';

/** What the upgrade stops, for the checks that nothing else started it again. */
export const stoppedOf = (ctx: UpgradeCtx): Stopped => ({
  namespace: ctx.d.namespace,
  workload: {
    ...st(ctx).workload,
    selector: ctx.d.workload.selector,
    matchExpressions: ctx.d.workload.matchExpressions,
  },
  apps: st(ctx).apps,
  claim: ctx.d.pvc.metadata.name,
});

/** The database down, its volume detached and snapshotted. */
export function stopPhases(opts: UpgradeOptions, timeout: number): Array<InPlaceStep> {
  return [
    {
      title: 'Stop the database and wait for its volume to detach',
      recorded: 'db-down',
      step: (ctx, task) => stopDatabase(ctx, task, timeout),
      plan: (ctx) => [
        ...(st(ctx).strategy
          ? [
              strategyStep(
                ctx,
                RECREATE_PATCH,
                `set the Deployment's ${describeStrategy(st(ctx).strategy!)} aside: Recreate while the database is stopped`,
              ),
            ]
          : []),
        scaleStep(ctx.d.namespace, st(ctx).workload, 0, 'stop the database'),
      ],
    },
    {
      title: 'Snapshot the stopped volume',
      recorded: 'snapshot',
      skip: () =>
        !opts.snapshot &&
        'SKIPPED BY --no-snapshot: if the upgrade goes wrong after the new server starts, there is no way back',
      step: (ctx) => snapshotStopped(ctx, opts, timeout),
      plan: (ctx) => (opts.snapshot ? snapshotSteps(ctx, opts) : []),
    },
  ];
}

/** Scales the database to 0 (Recreate first), then waits for no other pod on its PVC and the volume detached. */
async function stopDatabase(ctx: UpgradeCtx, task: StepTask, timeout: number): Promise<string> {
  const t = Date.now();
  const aside = setAside(st(ctx));
  if (aside) task.title = `Stop the database and wait for its volume to detach${aside}`;
  await timed(ctx, 'db-down', async () => {
    await timed(ctx, 'db-shutdown', async () => {
      // Recreate first: no pod of another revision may start beside the stopped server on its volume.
      if (st(ctx).strategy) await switchToRecreate(ctx.cluster, ctx.d.namespace, st(ctx).workload.name);
      await scaleTo(ctx.cluster, ctx.d.namespace, st(ctx).workload, 0);
      await waitScaledDown(
        ctx.cluster,
        ctx.d.namespace,
        stoppedOf(ctx).workload,
        'the database pod',
        rollbackOf(stoppedOf(ctx)),
        timeout,
      );
    });
    const users = (await ctx.cluster.listPods(ctx.d.namespace)).filter(
      (p) =>
        p.phase !== 'Succeeded' &&
        p.phase !== 'Failed' &&
        (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === ctx.d.pvc.metadata.name),
    );
    if (users.length)
      throw new CliError(
        `other pods still mount PVC ${ctx.d.pvc.metadata.name}: ${users.map((p) => p.metadata.name).join(', ')}; stop them, then run the same command again to resume`,
        ExitCode.failed,
      );
    const pv = ctx.d.pvc.volumeName;
    if (pv) await timed(ctx, 'volume-detach', () => waitDetached(ctx.cluster, pv, timeout));
  });
  return `${((Date.now() - t) / 1000).toFixed(1)} s${aside}`;
}

/** Snapshots the stopped volume (or waits for the one a killed run created), cut or ready as asked. */
async function snapshotStopped(ctx: UpgradeCtx, opts: UpgradeOptions, timeout: number): Promise<string> {
  const rec = await timed(ctx, 'snapshot', async () => {
    const cls = await upgradeSnapshotClass(ctx.cluster, ctx.d.csiDriver);
    if (!cls)
      throw new CliError(
        `no VolumeSnapshotClass for the PVC's driver ${ctx.d.csiDriver}: create one, or run with --no-snapshot (no way back after the new server starts)`,
        ExitCode.failed,
      );
    const s = st(ctx);
    // A run killed right after creating it recorded its name: the resumed run waits for that one.
    if (!s.snapshot) {
      const snap = await createSnapshot(ctx.cluster, {
        namespace: ctx.d.namespace,
        workloadKind: s.workload.kind,
        workloadName: s.workload.name,
        pvc: ctx.d.pvc.metadata.name,
        className: cls,
        pgVersion: s.fromVersion,
        pgMajor: s.from,
        takenAt: new Date(),
        consistency: 'stopped',
        reason: `before upgrade to ${s.to}`,
      });
      ctx.state = { ...s, snapshot: snap.metadata.name };
      await writeState(ctx);
    }
    return waitSnapshot(
      ctx.cluster,
      ctx.d.namespace,
      st(ctx).snapshot as string,
      opts.waitSnapshotReady ? 'ready' : 'cut',
      timeout,
    );
  });
  return `${rec.name} cut${rec.readyToUse ? ' and ready' : '; the reference fingerprint is read from it while the Job runs'}`;
}
