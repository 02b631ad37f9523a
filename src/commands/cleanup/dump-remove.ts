import type { ListrTask } from 'listr2';
import { isFingerprintOrPart } from '../../fingerprint/store.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { poll } from '../../steps/poll.ts';
import { waitPodsGone } from '../../steps/workload.ts';
import type { UpgradeLock } from '../../state/lock.ts';
import { dumpReferenceName } from '../../state/dump-state.ts';
import { findDump } from './dump-tasks.ts';
import { oldInstanceProblem } from './dump-plan.ts';
import { removeKinds } from './remove.ts';
import type { CleanupCtx } from './tasks.ts';

/**
 * Deletes the old instance: read again and judged again just before (stopped, no pods, the recorded UID and PVC),
 * the workload deleted only as that very object at that version (preconditions: a change meanwhile makes the
 * apiserver refuse), its pods waited for, then its PVC, once no pod mounts it.
 */
async function removeOldInstance(ctx: CleanupCtx, lock: UpgradeLock, timeoutMs: number): Promise<string> {
  const ns = ctx.d.namespace;
  const s = ctx.dump?.state;
  if (!s) throw new Error('no record of an upgrade by dump');
  const now = await findDump(ctx.cluster, ctx.d, s);
  const fresh = await ctx.cluster.getWorkload(ns, s.workload.kind, s.workload.name);
  const problem = fresh ? oldInstanceProblem(s, { ...now.source, workload: fresh }) : undefined;
  if (problem)
    throw new CliError(
      `${s.workload.kind} ${ns}/${s.workload.name} changed since it was listed: ${problem}. It was not deleted, nor anything after it`,
      ExitCode.failed,
    );
  const ref = { apiVersion: 'apps/v1', kind: s.workload.kind, namespace: ns, name: s.workload.name };
  if (fresh) {
    lock.assertHeld();
    await ctx.cluster
      .deleteObject(ref, { uid: s.workloadUid, resourceVersion: fresh.metadata.resourceVersion })
      .catch((err: { code?: number }) => {
        if (err.code !== 409) throw err;
        throw new CliError(
          `${s.workload.kind} ${ns}/${s.workload.name} changed while it was being deleted: it was not deleted, nor anything after it`,
          ExitCode.failed,
        );
      });
    await poll(`${s.workload.kind} ${ns}/${s.workload.name} to be deleted`, timeoutMs, async () =>
      (await ctx.cluster.readObject(ref)) ? undefined : true,
    );
    if (Object.keys(fresh.selector).length)
      await waitPodsGone(
        ctx.cluster,
        ns,
        fresh.selector,
        `the pods of ${s.workload.name}`,
        timeoutMs,
        fresh.matchExpressions,
      );
  }
  const users = (await findDump(ctx.cluster, ctx.d, s)).source.pvcUsers;
  if (users.length)
    throw new CliError(
      `PVC ${ns}/${s.pvc} is mounted by pods ${users.join(', ')}: it was not deleted, nor anything after it`,
      ExitCode.failed,
    );
  await removeKinds(ctx, lock, ['PersistentVolumeClaim'], timeoutMs, (i) => i.name === s.pvc);
  return `${s.workload.kind} ${s.workload.name} and PVC ${s.pvc} deleted`;
}

/** The removals after an upgrade by dump: the instance that no longer serves, then the fingerprint, then the record, last. */
export function createDumpRemoveTasks(lock: UpgradeLock, timeoutSeconds: number): Array<ListrTask<CleanupCtx>> {
  const timeout = timeoutSeconds * 1000;
  const workloadGoes = (ctx: CleanupCtx) =>
    ctx.plan.remove.some((i) => i.kind === 'StatefulSet' || i.kind === 'Deployment');
  return [
    {
      title: 'Delete the old instance and its volume, named by the record',
      enabled: (ctx) => ctx.dump?.state.phase === 'done' && workloadGoes(ctx),
      task: async (ctx, task) =>
        void (task.title = `Delete the old instance and its volume: ${await removeOldInstance(ctx, lock, timeout)}`),
    },
    {
      title: 'Delete the new instance of the rolled-back upgrade: its workload, Service, Secret and volume',
      enabled: (ctx) => ctx.dump?.state.phase === 'rolled-back' && ctx.plan.remove.some((i) => i.kind !== 'ConfigMap'),
      task: async (ctx) => {
        const t = ctx.dump?.state.target;
        await removeKinds(ctx, lock, ['StatefulSet', 'Deployment', 'Service', 'Secret'], timeout);
        if (t)
          await waitPodsGone(
            ctx.cluster,
            ctx.d.namespace,
            { 'pgupgrade.kubectl.io/instance': t.name },
            `the pods of ${t.name}`,
            timeout,
          );
        await removeKinds(ctx, lock, ['PersistentVolumeClaim'], timeout);
      },
    },
    {
      title: "Delete the source's fingerprint and, last, the record of the upgrade",
      enabled: (ctx) => ctx.plan.remove.some((i) => i.kind === 'ConfigMap'),
      task: async (ctx) => {
        await removeKinds(ctx, lock, ['ConfigMap'], timeout, (i) =>
          isFingerprintOrPart(i.name, dumpReferenceName(ctx.stateName)),
        );
        await removeKinds(ctx, lock, ['ConfigMap'], timeout, (i) => i.name === ctx.stateName);
      },
    },
  ];
}
