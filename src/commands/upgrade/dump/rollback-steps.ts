import { discover, DUMP_SOURCE, type SourceDiscovery } from '../../../discovery/discover.ts';
import { CliError, ExitCode } from '../../../exit-codes.ts';
import { fingerprintVia } from '../../../fingerprint/read.ts';
import { loadFingerprint } from '../../../fingerprint/store.ts';
import type { DumpTarget } from '../../../manifests/dump-target.ts';
import { instanceSelector } from '../../../manifests/dump-target-pod.ts';
import { putBackSql, shouldRestartAfterLoad } from '../../../postgres/dump-plan.ts';
import { compareFingerprints } from '../../../postgres/fingerprint.ts';
import { refOf } from '../../../postgres/workload.ts';
import { liveReach, readPassword } from '../../../server/reach.ts';
import { dumpReferenceName } from '../../../state/dump-state.ts';
import { scaleTo, waitPodsGone, waitWorkloadReady } from '../../../steps/workload.ts';
import { dst, type DumpCtx } from './ctx.ts';
import { restoreServices } from './cutover.ts';
import { resolveExisting } from './existing.ts';
import { restartTarget, targetSql } from './instance.ts';
import type { DumpRollbackOptions } from './rollback.ts';

/** What a rollback step says of itself: its title. */
interface StepTask {
  title: string;
}

const ns = (ctx: DumpCtx) => ctx.d.namespace;

/** The old instance's data against its fingerprint taken by the upgrade: the differences, or undefined when none was taken. */
async function oldInstanceDiff(ctx: DumpCtx, d: SourceDiscovery): Promise<string[] | undefined> {
  const reference = await loadFingerprint(ctx.cluster, d.namespace, dumpReferenceName(ctx.stateName));
  if (!reference) return undefined;
  return compareFingerprints(
    reference,
    await fingerprintVia(ctx.cluster, d, liveReach(d), await readPassword(ctx.cluster, d)),
  );
}

/** An old instance without a volume: its running container still holds its data, equal to its fingerprint; else exit 1. */
export async function checkOldInstanceHolds(ctx: DumpCtx, task: StepTask): Promise<void> {
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
}

/** The applications scaled to 0, their pods gone. */
export async function scaleAppsDown(ctx: DumpCtx, timeout: number): Promise<void> {
  for (const a of dst(ctx).apps) await scaleTo(ctx.cluster, ns(ctx), a, 0);
  for (const a of dst(ctx).apps) {
    const w = await ctx.cluster.getWorkload(ns(ctx), a.kind, a.name);
    if (w) await waitPodsGone(ctx.cluster, ns(ctx), w.selector, `the pods of ${refOf(a)}`, timeout, w.matchExpressions);
  }
}

/** The Services that lead to the new instance pointed back at the old one; those pointed elsewhere since are left. */
export async function pointServicesBack(ctx: DumpCtx, task: StepTask): Promise<void> {
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
}

/** The old instance up again, its data compared with its fingerprint taken by the upgrade (exit 1 on a difference). */
export async function startOldInstance(
  ctx: DumpCtx,
  task: StepTask,
  opts: DumpRollbackOptions,
  timeout: number,
): Promise<void> {
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
}

/** An existing target's durable settings, tuned for the load, put back as they were (restarted when they need it). */
export async function putTargetSettingsBack(ctx: DumpCtx, timeout: number): Promise<void> {
  ctx.existing = await resolveExisting(ctx.cluster, ns(ctx), refOf(dst(ctx).target));
  ctx.target = { name: dst(ctx).target.name, cutoverSelector: ctx.existing.selector } as DumpTarget;
  await targetSql(
    ctx,
    putBackSql(dst(ctx).settings, dst(ctx).targetBefore),
    "putting the existing target's settings back",
  );
  if (shouldRestartAfterLoad(dst(ctx).settings)) await restartTarget(ctx, timeout);
}
