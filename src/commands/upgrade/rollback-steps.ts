import { discover, type Discovery } from '../../discovery/discover.ts';
import { liveReach, readPassword } from '../../server/reach.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { compareFingerprints } from '../../postgres/fingerprint.ts';
import { loadReference, referenceFromSnapshot, type Reference } from '../../state/reference.ts';
import { fingerprintVia } from '../../fingerprint/read.ts';
import {
  patchDataLayout,
  patchImage,
  scaleTo,
  waitDetached,
  waitPodsGone,
  waitWorkloadReady,
} from '../../steps/workload.ts';
import { describeStrategy } from '../../postgres/strategy.ts';
import { restoreStrategy } from '../../steps/strategy.ts';
import { refOf } from '../../postgres/workload.ts';
import { resumeOwners } from '../../steps/gitops.ts';
import type { RollbackCtx, RollbackOptions } from './rollback.ts';

/** What a rollback step says of itself: its title, and output shown under it. */
interface StepTask {
  title: string;
  output?: string;
}

/**
 * What the rolled-back data must equal: the reference the upgrade stored, else (the run stopped before it was
 * read) one read now from the snapshot, when the rollback did not restore that very snapshot.
 */
async function rollbackReference(ctx: RollbackCtx, d: Discovery, timeoutMs: number): Promise<Reference | undefined> {
  const stored = await loadReference(ctx.cluster, d.namespace, ctx.state.fingerprintConfigMap, ctx.state);
  if (stored || ctx.via === 'snapshot' || !ctx.state.snapshot) return stored;
  return referenceFromSnapshot(ctx.cluster, d, ctx.state, ctx.state.fingerprintConfigMap, timeoutMs);
}

/** The applications, the database and the upgrade Job stopped, their pods gone and the volume detached. */
export async function stopEverything(ctx: RollbackCtx, timeout: number): Promise<void> {
  const s = ctx.state;
  const ns = ctx.d.namespace;
  for (const a of s.apps) await scaleTo(ctx.cluster, ns, a, 0);
  for (const a of ctx.d.apps)
    await waitPodsGone(
      ctx.cluster,
      ns,
      a.selector,
      `the pods of ${refOf({ kind: a.kind, name: a.metadata.name })}`,
      timeout,
      a.matchExpressions,
    );
  await scaleTo(ctx.cluster, ns, s.workload, 0);
  await ctx.cluster.deleteObject({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: s.job });
  await waitPodsGone(
    ctx.cluster,
    ns,
    ctx.d.workload.selector,
    'the database pod',
    timeout,
    ctx.d.workload.matchExpressions,
  );
  await waitPodsGone(ctx.cluster, ns, { 'job-name': s.job }, "the upgrade Job's pod", timeout);
  if (ctx.d.pvc.volumeName) await waitDetached(ctx.cluster, ctx.d.pvc.volumeName, timeout);
}

/** The workload on its old image (and layout, and strategy) again, ready. */
export async function startOldMajor(ctx: RollbackCtx, task: StepTask, timeout: number): Promise<void> {
  const s = ctx.state;
  const r = s.relayout;
  // The original layout too, where the upgrade moved the data out of the volume's root (idempotent).
  if (r) {
    await patchDataLayout(
      ctx.cluster,
      ctx.d.namespace,
      s.workload,
      s.container,
      s.oldImage,
      { mountPath: r.toMount, pgdata: r.pgdata },
      { mountPath: r.fromMount, pgdata: r.pgdataEnv },
    );
  } else {
    await patchImage(ctx.cluster, ctx.d.namespace, s.workload, s.container, s.oldImage);
  }
  await scaleTo(ctx.cluster, ctx.d.namespace, s.workload, s.workload.replicas);
  await waitWorkloadReady(ctx.cluster, ctx.d.namespace, s.workload, timeout);
  if (s.strategy) await restoreStrategy(ctx.cluster, ctx.d.namespace, s.workload.name, s.strategy);
  task.title =
    `Start the database on the old major again: ${s.oldImage}, ${s.workload.replicas} ready` +
    (r ? `; the claim at ${r.fromMount} again, ${r.pgdataEnv === null ? 'no PGDATA' : `PGDATA=${r.pgdataEnv}`}` : '') +
    (s.strategy ? `; strategy ${describeStrategy(s.strategy)} back` : '');
}

/** The rolled-back data against the reference (exit 1 on a difference: the applications stay down). */
export async function verifyRolledBack(
  ctx: RollbackCtx,
  task: StepTask,
  opts: RollbackOptions,
  timeout: number,
): Promise<void> {
  const d = await discover(ctx.cluster, ctx.d.namespace, refOf(ctx.state.workload), opts.appSelector, opts);
  const ref = await rollbackReference(ctx, d, timeout);
  if (!ref) {
    task.title =
      ctx.via === 'snapshot'
        ? `Verify: the volume is snapshot ${ctx.state.snapshot} itself; no reference was read from it, the server runs`
        : 'Verify: no reference fingerprint was taken (no snapshot, and the upgrade stopped before it); the server runs, nothing to compare';
    return;
  }
  const before = ref.fingerprint;
  const after = await fingerprintVia(ctx.cluster, d, liveReach(d), await readPassword(ctx.cluster, d));
  ctx.diff = compareFingerprints(before, after);
  if (ctx.diff.length) {
    throw new CliError(
      `the rolled-back database differs from the fingerprint taken before the upgrade:\n  ${ctx.diff.join('\n  ')}\nThe applications stay scaled down.`,
      ExitCode.failed,
    );
  }
  task.title = `Verify: equal to the reference read from the ${ref.source}`;
}

/** The applications up again, the paused GitOps objects resumed, then the reference and the record deleted. */
export async function forgetUpgrade(ctx: RollbackCtx, timeout: number): Promise<void> {
  const s = ctx.state;
  for (const a of s.apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, a.replicas);
  for (const a of s.apps) await waitWorkloadReady(ctx.cluster, ctx.d.namespace, a, timeout);
  // --pause-gitops: what the upgrade paused is put back as it was, once everything runs the old major again.
  if (s.pausedOwners?.length && !s.ownersResumedAt) await resumeOwners(ctx.cluster, s.pausedOwners);
  // The reference belongs to the upgrade undone: the next upgrade reads its own. Then the record goes.
  await ctx.cluster.deleteObject({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: ctx.d.namespace,
    name: s.fingerprintConfigMap,
  });
  await ctx.cluster.deleteObject({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: ctx.d.namespace,
    name: ctx.names.state,
  });
}
