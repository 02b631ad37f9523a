import { clientsNote } from '../../discovery/clients.ts';
import { discover } from '../../discovery/discover.ts';
import { CliError, ExitCode, usageError } from '../../exit-codes.ts';
import { modeOf } from '../../server/reach.ts';
import { pickSnapshotClass } from '../../volume-snapshots/record.ts';
import type { SnapshotCtx, SnapshotOptions, TitledTask } from './ctx.ts';

/** Finds the workload and its data PVC, and the VolumeSnapshotClass of the PVC's CSI driver; refused when there is none. */
export async function findWorkload(ctx: SnapshotCtx, task: TitledTask, opts: SnapshotOptions): Promise<void> {
  ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, {}, opts);
  ctx.mode = modeOf(ctx.d);
  ctx.className = await snapshotClassOf(ctx, opts);
  task.title =
    `Find the PostgreSQL workload and its data PVC: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, PVC ${ctx.d.pvc.metadata.name}, ` +
    `class ${ctx.className}, ${ctx.mode === 'live' ? `running in pod ${ctx.d.pod?.metadata.name}` : 'stopped'}${clientsNote(ctx.d.clients)}`;
}

/** The VolumeSnapshotClass for the data PVC: --snapshot-class, or the one of its CSI driver. */
async function snapshotClassOf(ctx: SnapshotCtx, opts: SnapshotOptions): Promise<string> {
  const driver = ctx.d.csiDriver;
  if (!driver)
    throw new CliError(
      `PVC ${ctx.d.namespace}/${ctx.d.pvc.metadata.name} has no StorageClass with a CSI driver, so it cannot be snapshotted; back it up another way (pg_dump, or your storage's own tools)`,
      ExitCode.failed,
    );
  const classes = await ctx.cluster.snapshotClasses();
  if (!classes)
    throw new CliError(
      `the VolumeSnapshot API (snapshot.storage.k8s.io/v1) is not installed in context ${ctx.cluster.contextName}; install the external-snapshotter CRDs and controller, or back up another way`,
      ExitCode.failed,
    );
  const pick = pickSnapshotClass(classes, driver, opts.snapshotClass);
  if ('problem' in pick)
    throw opts.snapshotClass
      ? usageError(pick.problem)
      : new CliError(`${pick.problem}: create one for it, or back up another way`, ExitCode.failed);
  return pick.name;
}
