import { upgradeNames } from '../../state/state.ts';
import { isFingerprintOrPart } from '../../fingerprint/store.ts';
import type { ListrTask } from 'listr2';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { buildCleanupJob } from '../../manifests/upgrade-job.ts';
import { derivedName } from '../../manifests/snapshot.ts';
import { poll } from '../../steps/poll.ts';
import { runJob } from '../../steps/job.ts';
import { waitPodsGone } from '../../steps/workload.ts';
import type { UpgradeLock } from '../../state/lock.ts';
import type { CleanupItem } from './plan.ts';
import type { CleanupCtx } from './tasks.ts';
import { mountedPvcProblem } from './pvc-users.ts';

export const API: Record<Exclude<CleanupItem['kind'], 'Directory'>, string> = {
  Job: 'batch/v1',
  Pod: 'v1',
  PersistentVolumeClaim: 'v1',
  VolumeSnapshot: 'snapshot.storage.k8s.io/v1',
  ConfigMap: 'v1',
  StatefulSet: 'apps/v1',
  Deployment: 'apps/v1',
  Service: 'v1',
  Secret: 'v1',
};

/** Deletes the planned objects of some kinds, each only once this run still holds the lock, and waits until they are gone. */
export async function removeKinds(
  ctx: CleanupCtx,
  lock: UpgradeLock,
  kinds: Array<CleanupItem['kind']>,
  timeoutMs: number,
  only?: (i: CleanupItem) => boolean,
): Promise<number> {
  const ns = ctx.d.namespace;
  const items = ctx.plan.remove.filter((i) => kinds.includes(i.kind) && i.kind !== 'Directory' && (!only || only(i)));
  // The plan was checked for pods that mount its PVCs; a pod may have come since: look again, just before.
  const mounted =
    items.some((i) => i.kind === 'PersistentVolumeClaim') &&
    mountedPvcProblem(
      { remove: items, keep: [] },
      await ctx.cluster.listPods(ns),
      ns,
      'neither it nor anything after it was deleted',
    );
  if (mounted) throw new CliError(mounted, ExitCode.failed);
  for (const i of items) {
    lock.assertHeld();
    await ctx.cluster.deleteObject({
      apiVersion: API[i.kind as keyof typeof API],
      kind: i.kind,
      namespace: ns,
      name: i.name,
    });
  }
  for (const i of items.filter((x) => x.kind !== 'Pod' && x.kind !== 'VolumeSnapshot')) {
    const ref = { apiVersion: API[i.kind as keyof typeof API], kind: i.kind, namespace: ns, name: i.name };
    await poll(`${i.kind} ${ns}/${i.name} to be deleted`, timeoutMs, async () =>
      (await ctx.cluster.readObject(ref)) ? undefined : true,
    );
  }
  return items.length;
}

/** Runs cleanup's Job on the database pod's node, beside the running database; it is deleted once it has succeeded. */
async function removeDirectories(
  ctx: CleanupCtx,
  lock: UpgradeLock,
  timeoutMs: number,
  onLog: (t: string) => void,
): Promise<string> {
  const ns = ctx.d.namespace;
  const job = buildCleanupJob(ctx.state.jobSpec, ctx.d.pod?.spec.nodeName);
  const name = job.metadata.name;
  const ref = { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name };
  // An earlier cleanup's Job (failed, or interrupted) would be found by runJob and its outcome taken: make a fresh one.
  await ctx.cluster.deleteObject(ref);
  await waitPodsGone(ctx.cluster, ns, { 'job-name': name }, "an earlier cleanup Job's pod", timeoutMs);
  await poll(`the earlier cleanup Job ${name} to be deleted`, timeoutMs, async () =>
    (await ctx.cluster.readObject(ref)) ? undefined : true,
  );
  lock.assertHeld();
  const out = await runJob(ctx.cluster, ns, job, onLog, timeoutMs);
  if (!out.ok) {
    throw new CliError(
      `cleanup's Job ${ns}/${name} failed (${out.reason ?? 'see its log'}); the database was not touched and nothing else was removed:\n` +
        `${out.log.split('\n').slice(-20).join('\n')}\nIts log: kubectl -n ${ns} logs job/${name}`,
      ExitCode.failed,
    );
  }
  await ctx.cluster.deleteObject(ref);
  await waitPodsGone(ctx.cluster, ns, { 'job-name': name }, "the cleanup Job's pod", timeoutMs);
  return (
    out.log
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^pgupgrade: /, '') ?? 'done'
  );
}

/** The removals, in the plan's order; the record goes last, so that an interrupted cleanup can be run again. */
export function createRemoveTasks(lock: UpgradeLock, timeoutSeconds: number): Array<ListrTask<CleanupCtx>> {
  const timeout = timeoutSeconds * 1000;
  const has =
    (...kinds: Array<CleanupItem['kind']>) =>
    (ctx: CleanupCtx) =>
      ctx.plan.remove.some((i) => kinds.includes(i.kind));
  return [
    {
      title: 'Remove the old cluster from the volume, in a Job beside the running database',
      enabled: has('Directory'),
      task: async (ctx, task) => {
        const done = await removeDirectories(ctx, lock, timeout, (t) => (task.output = t.trimEnd()));
        task.title = `Remove the old cluster from the volume: ${done}`;
      },
    },
    {
      title: 'Delete the finished Jobs and their pods, and ended probe pods',
      enabled: has('Job', 'Pod'),
      task: async (ctx, task) =>
        void (task.title = `Delete the finished Jobs and their pods, and ended probe pods: ${await removeKinds(ctx, lock, ['Job', 'Pod'], timeout)} deleted`),
    },
    {
      title: 'Delete the PVCs restored from the snapshot and left behind',
      enabled: has('PersistentVolumeClaim'),
      task: async (ctx) => void (await removeKinds(ctx, lock, ['PersistentVolumeClaim'], timeout)),
    },
    {
      title: 'Delete the snapshot taken before the upgrade, and its fingerprint',
      enabled: has('VolumeSnapshot'),
      task: async (ctx) => {
        const fingerprint = derivedName(ctx.state.snapshot ?? '', 'fingerprint');
        await removeKinds(
          ctx,
          lock,
          ['VolumeSnapshot', 'ConfigMap'],
          timeout,
          (i) => i.kind === 'VolumeSnapshot' || isFingerprintOrPart(i.name, fingerprint),
        );
      },
    },
    {
      title: 'Delete the reference fingerprint and, last, the record of the upgrade',
      task: async (ctx) => {
        await removeKinds(
          ctx,
          lock,
          ['ConfigMap'],
          timeout,
          (i) =>
            isFingerprintOrPart(i.name, ctx.state.fingerprintConfigMap) ||
            i.name === upgradeNames(ctx.state.workload.name, ctx.state.to).rehearsal,
        );
        await removeKinds(ctx, lock, ['ConfigMap'], timeout, (i) => i.name === ctx.stateName);
      },
    },
  ];
}
