import type { ListrTask } from 'listr2';
import { connectTask } from '../../connect-task.ts';
import type { Cluster } from '../../k8s/cluster.ts';
import { checkpoint } from '../../server/gather.ts';
import { liveReach } from '../../server/reach.ts';
import type { SnapshotCtx, SnapshotOptions } from './ctx.ts';
import { findWorkload } from './find-workload.ts';
import { askServerVersion, fingerprintAfter, fingerprintBefore, probeStoppedTask } from './read-source.ts';
import { takeSnapshot, waitReady } from './take-snapshot.ts';
import { verifyTask } from './verify-copy.ts';

const live = (ctx: SnapshotCtx) => ctx.mode === 'live';
const offline = (ctx: SnapshotCtx) => ctx.mode === 'offline';

/** `snapshot` as a task tree. */
export function createSnapshotTasks(
  connect: () => Promise<Cluster>,
  opts: SnapshotOptions,
): Array<ListrTask<SnapshotCtx>> {
  return [
    connectTask<SnapshotCtx>(connect),
    { title: 'Find the PostgreSQL workload and its data PVC', task: (ctx, task) => findWorkload(ctx, task, opts) },
    { title: 'Ask the running server for its version', enabled: live, task: askServerVersion },
    {
      title: 'Fingerprint the database, to verify the copy against',
      enabled: (ctx) => live(ctx) && opts.verify,
      task: fingerprintBefore,
    },
    {
      title: 'CHECKPOINT, so that the snapshot needs little crash recovery',
      enabled: live,
      task: (ctx) => checkpoint(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password),
    },
    {
      title: 'Read PG_VERSION and pg_controldata of the stopped database in a probe pod',
      enabled: offline,
      task: probeStoppedTask,
    },
    { title: 'Take the VolumeSnapshot', task: (ctx, task) => takeSnapshot(ctx, task, opts) },
    {
      title: 'Fingerprint the database again, to tell what the applications wrote while the snapshot was cut',
      enabled: (ctx) => live(ctx) && opts.verify,
      task: fingerprintAfter,
    },
    {
      title: 'Wait until the snapshot is ready to use',
      enabled: () => opts.wait || opts.verify,
      task: (ctx, task) => waitReady(ctx, task, opts),
    },
    {
      title: 'Verify: restore the snapshot to a temporary PVC and start PostgreSQL on it',
      enabled: () => opts.verify,
      task: verifyTask,
    },
  ];
}
