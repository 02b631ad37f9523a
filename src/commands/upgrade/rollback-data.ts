import { CliError, ExitCode } from '../../exit-codes.ts';
import { buildRollbackJob } from '../../manifests/upgrade-job.ts';
import { runJob } from '../../steps/job.ts';
import { poll } from '../../steps/poll.ts';
import { retainVolumeOf } from '../../steps/retain.ts';
import { waitPodsGone } from '../../steps/workload.ts';
import { waitSnapshot } from '../../volume-snapshots/take.ts';
import type { RollbackCtx } from './rollback.ts';

// The two ways back for the data (rollbackWay): the old cluster's directories put back, or the PVC from the snapshot.

/** What a rollback step says of itself: its title, and output shown under it. */
interface StepTask {
  title: string;
  output?: string;
}

/** The rollback Job puts the old cluster's directories back (an earlier one deleted first). */
export async function putDirectoriesBack(ctx: RollbackCtx, task: StepTask, timeout: number): Promise<void> {
  const job = buildRollbackJob(ctx.state.jobSpec);
  await ctx.cluster.deleteObject({
    apiVersion: 'batch/v1',
    kind: 'Job',
    namespace: ctx.d.namespace,
    name: job.metadata.name,
  });
  await waitPodsGone(
    ctx.cluster,
    ctx.d.namespace,
    { 'job-name': job.metadata.name },
    "an earlier rollback Job's pod",
    timeout,
  );
  await poll(`the earlier rollback Job ${job.metadata.name} to be deleted`, timeout, async () =>
    (await ctx.cluster.readObject({
      apiVersion: 'batch/v1',
      kind: 'Job',
      namespace: ctx.d.namespace,
      name: job.metadata.name,
    }))
      ? undefined
      : true,
  );
  const out = await runJob(ctx.cluster, ctx.d.namespace, job, (t) => (task.output = t.trimEnd()), timeout);
  if (!out.ok) {
    throw new CliError(
      `the rollback Job failed (${out.reason ?? 'see its log'}):\n${out.log.split('\n').slice(-30).join('\n')}\n` +
        (ctx.state.snapshot ? `The snapshot ${ctx.state.snapshot} still holds the old cluster.` : ''),
      ExitCode.failed,
    );
  }
  await ctx.cluster.deleteObject({
    apiVersion: 'batch/v1',
    kind: 'Job',
    namespace: ctx.d.namespace,
    name: job.metadata.name,
  });
  task.title = `Put the old cluster's directories back: ${out.log
    .trim()
    .split('\n')
    .pop()
    ?.replace(/^pgupgrade: /, '')}`;
}

/** The data PVC made again from the snapshot taken before the upgrade (its upgraded volume retained). */
export async function restoreFromSnapshot(ctx: RollbackCtx, task: StepTask, timeout: number): Promise<void> {
  const ns = ctx.d.namespace;
  const snap = await waitSnapshot(ctx.cluster, ns, ctx.state.snapshot as string, 'ready', timeout);
  const pvcRef = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    namespace: ns,
    name: ctx.d.pvc.metadata.name,
  };
  const current = await ctx.cluster.readObject(pvcRef);
  if (current?.spec?.dataSource?.name === snap.name && !current.metadata.deletionTimestamp) {
    task.title = `Restore the data PVC: ${pvcRef.name} is already restored from ${snap.name}`;
    return;
  }
  // Destructive, and safe only now: the snapshot is ready to use, no pod mounts the claim, and its volume stays.
  const kept = current ? await retainVolumeOf(ctx.cluster, current) : undefined;
  await ctx.cluster.deleteObject(pvcRef);
  await poll(
    `PVC ${ns}/${pvcRef.name} to be deleted`,
    timeout,
    async () => ((await ctx.cluster.readObject(pvcRef)) ? undefined : true),
    `kubectl -n ${ns} describe pvc ${pvcRef.name} (a pod that still mounts it holds it)`,
  );
  const bytes = Math.max(ctx.d.pvc.capacityBytes ?? 0, snap.restoreSizeBytes ?? 0);
  await ctx.cluster.createObject({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: pvcRef.name,
      namespace: ns,
      labels: current?.metadata.labels ?? {},
      annotations: {
        'pgupgrade.kubectl.io/restored-from': snap.name,
        'pgupgrade.kubectl.io/restored-at': new Date().toISOString(),
      },
    },
    spec: {
      accessModes: ctx.d.pvc.accessModes.length ? ctx.d.pvc.accessModes : ['ReadWriteOnce'],
      ...(ctx.d.pvc.storageClassName ? { storageClassName: ctx.d.pvc.storageClassName } : {}),
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snap.name },
      resources: { requests: { storage: String(bytes) } },
    },
  });
  task.title = `Restore the data PVC ${pvcRef.name} from snapshot ${snap.name} (cut ${snap.cutAt})`;
  if (kept)
    task.output = `the upgraded data stays on PersistentVolume ${kept} (Retain): kubectl delete pv ${kept} once you are sure`;
}
