import { clientsNote } from '../../discovery/clients.ts';
import { incompatibleAdvice, incompatibleImage } from '../../discovery/crash-loop.ts';
import { discoverWithApps } from '../../discovery/named-apps.ts';
import { usageError } from '../../exit-codes.ts';
import { bitnamiTargetNote, targetImageFor } from '../../postgres/images.ts';
import { relayoutFor } from '../../postgres/relayout.ts';
import { multiReplicaProblem, refOf, tagMajor } from '../../postgres/workload.ts';
import { modeOf } from '../../server/reach.ts';
import { inPlaceOverDumpProblem } from '../../state/dump-state.ts';
import { isUnfinished, readRecorded } from '../../state/recorded.ts';
import { isDone, resumeProblem, upgradeNames, type UpgradeState } from '../../state/state.ts';
import type { UpgradeCtx, UpgradeOptions } from './ctx.ts';
import { judgeGitops } from './gitops.ts';

/**
 * The workload's records, by readRecorded's precedence: upgraded to --to already (nothing to do), or an unfinished
 * upgrade in place to resume (the title to show); undefined when a new upgrade may be planned. An unfinished upgrade
 * by dump, or a done one that keeps this workload as its way back, refuses it (exit 2).
 */
async function judgeRecords(ctx: UpgradeCtx, opts: UpgradeOptions): Promise<string | undefined> {
  const rec = await readRecorded(ctx.cluster, ctx.d);
  ctx.stateVersion = rec.inPlace?.cm.metadata.resourceVersion;
  const state = rec.inPlace?.state;
  if (state?.phase === 'done' && state.to === opts.to && tagMajor(ctx.d.image) === opts.to) {
    ctx.nothingToDo =
      `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} was upgraded to PostgreSQL ${opts.to} already ` +
      `(${state.history.at(-1)?.at ?? 'earlier'}); nothing to do`;
    return `Find the PostgreSQL workload: already upgraded to ${opts.to}`;
  }
  if (rec.active?.method === 'in-place' && isUnfinished(rec.active)) return resumeInPlace(ctx, opts, rec.active.state);
  const overDump = inPlaceOverDumpProblem(
    rec.dump?.state,
    ctx.d.workload.metadata.uid,
    ctx.d.namespace,
    rec.names.dump,
    !!opts.discardDumpRollback,
  );
  if (overDump) throw usageError(overDump);
  return undefined;
}

/** Goes on with the unfinished upgrade recorded, when it is the same target and method; else refuses (exit 2). */
async function resumeInPlace(ctx: UpgradeCtx, opts: UpgradeOptions, state: UpgradeState): Promise<string> {
  const problem = resumeProblem(state, opts.to, opts.method, ctx.d.namespace);
  if (problem) throw usageError(problem);
  ctx.state = state;
  ctx.resuming = true;
  ctx.job = state.jobSpec;
  // Resumed before the applications stop: the controllers are judged again (an interrupted run put back what it paused).
  if (!isDone(state, 'apps-down')) await judgeGitops(ctx, opts);
  return `Found an upgrade of ${refOf(state.workload)} from ${state.from} to ${state.to} stopped after "${state.phase}": resuming it`;
}

/** Refuses (exit 2) a workload whose layout, image or volume an upgrade in place cannot take; sets its relayout. */
function refuseUnfitWorkload(ctx: UpgradeCtx, opts: UpgradeOptions): void {
  const relayout = relayoutFor(ctx.d, opts.to);
  if (relayout === 'bitnami') {
    throw usageError(
      `PGDATA ${ctx.d.pgdata} is the root of the volume: an in-place upgrade puts the new cluster beside the old one on the same ` +
        `filesystem and swaps the directories, which a mount point cannot be. Set POSTGRESQL_DATA_DIR to a subdirectory (e.g. ${ctx.d.mountPath}/data) first`,
    );
  }
  ctx.relayout = relayout;
  const bitnami = bitnamiTargetNote(ctx.d.image, opts.to);
  if (opts.patchWorkload && !opts.image && bitnami && !bitnami.image) {
    throw usageError(
      `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} runs ${ctx.d.image}. ${bitnami.note}: ${bitnami.fix}; nothing was changed`,
    );
  }
  if (opts.patchWorkload && !opts.image && !targetImageFor(ctx.d.image, opts.to)) {
    throw usageError(
      `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} runs ${ctx.d.image}, a vendor's repository ` +
        `(${ctx.d.flavour === 'vendor' ? 'layout unknown' : `${ctx.d.flavour} layout`}: ${ctx.d.layoutEvidence}) whose tag for PostgreSQL ${opts.to} the ` +
        `plugin cannot know: pass --image <the vendor's image for ${opts.to}>, or --no-patch-workload to change it yourself`,
    );
  }
  if (
    ctx.d.pvc.accessModes.length &&
    !ctx.d.pvc.accessModes.some((m) => m === 'ReadWriteOnce' || m === 'ReadWriteOncePod')
  ) {
    throw usageError(
      `PVC ${ctx.d.namespace}/${ctx.d.pvc.metadata.name} is ${ctx.d.pvc.accessModes.join(', ')}, not ReadWriteOnce: other pods could ` +
        `mount it while pg_upgrade runs; an in-place upgrade needs a volume that only the database mounts`,
    );
  }
}

/**
 * A crash-looping pod whose image was moved to a newer major than its data: the upgrade takes the data to the image's
 * major, stopping the pod first (the title to show); undefined when the image runs its data.
 */
async function judgeBumpedImage(ctx: UpgradeCtx, opts: UpgradeOptions): Promise<string | undefined> {
  const inc = ctx.bumpedStopped ? undefined : await incompatibleImage(ctx.cluster, ctx.d);
  if (!inc) return undefined;
  // The image was moved to a newer major and the server refuses the data: upgrade the data to the image's major.
  if (opts.to !== inc.serverMajor)
    throw usageError(`${incompatibleAdvice(ctx.d, inc)}
--to ${opts.to} is not the image's major; nothing was changed`);
  if (!targetImageFor(ctx.d.image, inc.dataMajor)) {
    throw usageError(
      `${incompatibleAdvice(ctx.d, inc)}
The upgrade needs an image of PostgreSQL ${inc.dataMajor} to read the data as it is (and for a rollback), and ` +
        `cannot tell which one of ${ctx.d.image.split(':')[0]}: set the workload's image back to your PostgreSQL ${inc.dataMajor} image, then run upgrade ` +
        `--to ${inc.serverMajor} --image ${ctx.d.image}; nothing was changed`,
    );
  }
  ctx.bumped = { ...inc, replicas: Math.max(ctx.d.workload.replicas, 1) };
  ctx.dataMajor = inc.dataMajor;
  return (
    `Find the PostgreSQL workload: pod ${ctx.d.pod?.metadata.name} crash-loops, its image runs PostgreSQL ${inc.serverMajor} and the data is ` +
    `${inc.dataMajor}: it is stopped first, once you confirm`
  );
}

/** How the server is read (live, or offline through a probe pod); offline needs the snapshot (exit 2 without). */
function judgeMode(ctx: UpgradeCtx, opts: UpgradeOptions): string {
  ctx.mode = modeOf(ctx.d);
  if (ctx.mode === 'offline' && !opts.snapshot) {
    throw usageError(
      `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} is stopped: its reference fingerprint can only be read ` +
        `from the snapshot of its volume, which --no-snapshot skips. Run without --no-snapshot; nothing was changed`,
    );
  }
  return (
    `Find the PostgreSQL workload: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, PVC ${ctx.d.pvc.metadata.name}, ` +
    (ctx.mode === 'live'
      ? `pod ${ctx.d.pod?.metadata.name}`
      : 'stopped (0 replicas): read through a probe pod on its volume, started on the new major to verify') +
    clientsNote(ctx.d.clients)
  );
}

/** The "Find the PostgreSQL workload…" task: the workload, its records, the refusals of a new upgrade; the title. */
export async function findWorkload(ctx: UpgradeCtx, opts: UpgradeOptions): Promise<string | undefined> {
  ctx.timings = {};
  // A bad --app is bad input whatever the record says: checked first.
  ctx.d = await discoverWithApps(ctx.cluster, ctx.cluster.namespace, opts.workload, opts);
  ctx.names = upgradeNames(ctx.d.workload.metadata.name, opts.to);
  const recorded = await judgeRecords(ctx, opts);
  if (recorded) return recorded;
  const multi = multiReplicaProblem(ctx.d.workload, ctx.d.namespace);
  if (multi) throw usageError(multi);
  // Argo CD or Flux would scale the database or its applications back up while they are down: refused before any downtime.
  await judgeGitops(ctx, opts);
  refuseUnfitWorkload(ctx, opts);
  ctx.resuming = false;
  return (await judgeBumpedImage(ctx, opts)) ?? judgeMode(ctx, opts);
}
