import { discoverWithApps } from '../../../discovery/named-apps.ts';
import { DUMP_SOURCE, volumeNote } from '../../../discovery/discover.ts';
import { usageError } from '../../../exit-codes.ts';
import { ownerKey } from '../../../postgres/gitops-pause.ts';
import type { ManagedObject } from '../../../postgres/gitops.ts';
import { multiReplicaProblem, refOf } from '../../../postgres/workload.ts';
import { modeOf } from '../../../server/reach.ts';
import { dumpReferenceName, isDumpDone, type DumpState } from '../../../state/dump-state.ts';
import { readRecorded } from '../../../state/recorded.ts';
import type { UpgradeState } from '../../../state/state.ts';
import { judgeGitops } from '../gitops.ts';
import type { DumpCtx, DumpOptions } from './ctx.ts';
import { verifyExistingTarget } from './existing.ts';
import { sourceServices } from './identity.ts';

/** The Services the cutover will point at the new instance, as GitOps sees them (their owners are judged and named too). */
async function cutoverServices(ctx: DumpCtx, cutover: boolean): Promise<ManagedObject[]> {
  if (!cutover) return [];
  ctx.cutoverServices = (await sourceServices(ctx.cluster, ctx.d)).map((s) => ({
    kind: 'Service' as const,
    metadata: s.metadata,
  }));
  return ctx.cutoverServices;
}

/** The record found: nothing to do, a refusal, or a run to resume. */
function judgeRecord(ctx: DumpCtx, s: DumpState, opts: DumpOptions): void {
  const ns = ctx.d.namespace;
  if (s.phase === 'done' && s.to === opts.to) {
    ctx.nothingToDo = `${refOf(s.workload)} in ${ns} was upgraded by dump to PostgreSQL ${s.to} already: ${s.target.kind} ${s.target.name} serves it; nothing to do`;
    return;
  }
  if (s.phase === 'done' || s.phase === 'rolled-back' || s.to !== opts.to) {
    // An existing target (--target) is not the plugin's: its objects are never in the list to delete.
    const made = s.target.existing
      ? ''
      : `${s.target.kind.toLowerCase()}/${s.target.name} service/${s.target.service} pvc/${s.target.pvc} ` +
        (s.target.secret ? `secret/${s.target.secret} ` : '');
    throw usageError(
      `ConfigMap ${ns}/${ctx.stateName} records an upgrade by dump to ${s.to} (phase "${s.phase}"). ` +
        (s.to === opts.to ? '' : `Resume it with --to ${s.to}, or `) +
        `remove it${
          s.target.existing
            ? ` (the existing ${s.target.kind} ${s.target.name} it loaded into is not the plugin's: it stays)`
            : ' and its new instance'
        } first: kubectl -n ${ns} delete ${made}configmap/${ctx.stateName} ` +
        `configmap/${dumpReferenceName(ctx.stateName)} --ignore-not-found; nothing was changed` +
        (s.pausedOwners?.length && !s.ownersResumedAt
          ? `. It left ${s.pausedOwners.map(ownerKey).join(', ')} paused, with the values to put back: ` +
            `--rollback puts them back; deleting the record loses them`
          : ''),
    );
  }
  ctx.state = s;
  ctx.resuming = true;
}

/** An upgrade in place stopped half-way refuses a new upgrade by dump (exit 2). */
function refuseUnfinishedInPlace(inPlace: UpgradeState | undefined): void {
  if (!inPlace || inPlace.phase === 'done') return;
  throw usageError(
    `an in-place upgrade of ${refOf(inPlace.workload)} to ${inPlace.to} stopped after "${inPlace.phase}": finish it (--method ${inPlace.method}) ` +
      `or undo it (--rollback) first; nothing was changed`,
  );
}

/**
 * The "Find the PostgreSQL workload and any upgrade by dump already under way" task: the source, its records (the
 * dump record judged first: nothing to do, a refusal or a run to resume), the refusals of a new upgrade; the title.
 */
export async function findSource(ctx: DumpCtx, opts: DumpOptions): Promise<string> {
  ctx.timings = {};
  ctx.globalsNotes = [];
  ctx.resuming = false;
  ctx.d = await discoverWithApps(ctx.cluster, ctx.cluster.namespace, opts.workload, opts, DUMP_SOURCE);
  const rec = await readRecorded(ctx.cluster, ctx.d);
  ctx.stateName = rec.names.dump;
  ctx.stateVersion = rec.dump?.cm.metadata.resourceVersion;
  if (rec.dump) judgeRecord(ctx, rec.dump.state, opts);
  // A run resumed before the applications stop judges the controllers again: the first may have stopped before it paused them.
  if (ctx.resuming && !isDumpDone(ctx.state, 'apps-down'))
    await judgeGitops(ctx, opts, await cutoverServices(ctx, !!ctx.state?.cutover));
  if (ctx.nothingToDo || ctx.resuming)
    return (
      ctx.nothingToDo ?? `Found an upgrade by dump to ${ctx.state?.to} stopped after "${ctx.state?.phase}": resuming it`
    );
  refuseUnfinishedInPlace(rec.inPlace?.state);
  const multi = multiReplicaProblem(ctx.d.workload, ctx.d.namespace);
  if (multi) throw usageError(multi);
  // Argo CD or Flux would scale the database or its applications back up while they are down: refused before any downtime.
  await judgeGitops(ctx, opts, await cutoverServices(ctx, opts.cutover));
  ctx.mode = modeOf(ctx.d);
  if (ctx.mode !== 'live') {
    throw usageError(
      `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} is stopped: --method dump reads the running server. ` +
        `Scale it up first; nothing was changed`,
    );
  }
  if (opts.target) ctx.existing = await verifyExistingTarget(ctx.cluster, ctx.d, opts.target, opts.to);
  return `Find the PostgreSQL workload: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, pod ${ctx.d.pod?.metadata.name}, ${volumeNote(ctx.d)}`;
}
