import { formatBytes } from '../../k8s/quantity.ts';
import { createSnapshot, waitSnapshot } from '../../volume-snapshots/take.ts';
import type { SnapshotCtx, SnapshotOptions, TitledTask } from './ctx.ts';

/** Creates the VolumeSnapshot and waits until the storage has cut it; the title says how consistent it is. */
export async function takeSnapshot(ctx: SnapshotCtx, task: TitledTask, opts: SnapshotOptions): Promise<void> {
  ctx.snap = await createSnapshot(ctx.cluster, {
    namespace: ctx.d.namespace,
    workloadKind: ctx.d.workload.kind,
    workloadName: ctx.d.workload.metadata.name,
    pvc: ctx.d.pvc.metadata.name,
    className: ctx.className,
    pgVersion: ctx.version,
    pgMajor: ctx.major,
    takenAt: new Date(),
    reason: 'snapshot command',
    consistency: ctx.mode === 'live' ? 'crash-consistent' : 'stopped',
  });
  const name = ctx.snap.metadata.name;
  task.title = `Take the VolumeSnapshot ${name}: waiting for the storage to cut it`;
  ctx.record = await waitSnapshot(ctx.cluster, ctx.d.namespace, name, 'cut', opts.timeoutSeconds * 1000);
  const what =
    ctx.mode === 'live'
      ? 'crash-consistent (the server ran; a CHECKPOINT came first)'
      : ctx.controlData?.cleanShutdown
        ? 'of a cleanly shut down cluster'
        : `of a stopped cluster that was not shut down cleanly (${ctx.controlData?.state})`;
  task.title = `Take the VolumeSnapshot ${name}: cut at ${ctx.record.cutAt}, ${what}`;
}

/** Waits until the snapshot is ready to use; the title says how long it took and its restore size. */
export async function waitReady(ctx: SnapshotCtx, task: TitledTask, opts: SnapshotOptions): Promise<void> {
  const started = Date.now();
  ctx.record = await waitSnapshot(
    ctx.cluster,
    ctx.d.namespace,
    ctx.snap.metadata.name,
    'ready',
    opts.timeoutSeconds * 1000,
  );
  const size = ctx.record.restoreSizeBytes ? `, restore size ${formatBytes(ctx.record.restoreSizeBytes)}` : '';
  task.title = `Wait until the snapshot is ready to use: ready after ${((Date.now() - started) / 1000).toFixed(1)} s${size}`;
}
