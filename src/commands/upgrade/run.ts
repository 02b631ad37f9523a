import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { confirmOrStop } from '../../confirm.ts';
import { usageError } from '../../exit-codes.ts';
import { stopBumped } from './bumped.ts';
import { onInterrupt } from '../../interrupt.ts';
import type { Io } from '../../output.ts';
import type { OutputFormat } from '../../renderer.ts';
import { listrOptions } from '../../listr-options.ts';
import { createApplyTasks, createPlanTasks, type UpgradeCtx, type UpgradeOptions } from './tasks.ts';
import { plannedObjects } from './apply.ts';
import { manualPatchAdvice } from './planned.ts';
import { plannedRecordObjects } from '../../state/planned-record.ts';
import { isDone, type UpgradeState } from '../../state/state.ts';
import { helmImageValues, refOf } from '../../postgres/workload.ts';
import { holdingLock, lockRecord } from '../../state/lock.ts';
import { createRollbackTasks, type RollbackCtx, type RollbackOptions } from './rollback.ts';
import { confirmUpgrade, gitopsWarning } from './confirm-upgrade.ts';
import { reportUpgrade } from './report.ts';
import { rollbackResumeNote } from '../../postgres/gitops-git-change.ts';

/** On Ctrl-C once something stopped: the paused GitOps objects stay paused until the resumed run or the rollback puts them back. */
const pausedNote = (c: UpgradeCtx): string => {
  const p = c.state?.pausedOwners ?? [];
  return p.length && !c.state?.ownersResumedAt && isDone(c.state, 'apps-down')
    ? `\nPaused by this upgrade, left paused while the database is down: ` +
        `${p.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(', ')}; the resumed run or the rollback puts them back as they were`
    : '';
};

/** `upgrade --rollback`: back to the old major, by the directories or from the snapshot, then verified. */
export async function runRollback(ctx: CommandContext, opts: RollbackOptions, io: Io): Promise<void> {
  const listOpts = listrOptions(ctx.flags);
  const renderer = listOpts.renderer;
  const tasks = createRollbackTasks(() => ctx.cluster(), opts);
  const c = {} as RollbackCtx;
  // The first two tasks only read: they find the record and the way back, which the user confirms.
  await new Listr<RollbackCtx, typeof renderer, 'simple'>(tasks.slice(0, 2), listOpts).run(c);
  const resumes = rollbackResumeNote(c.state.pausedOwners, c.state.ownersResumedAt);
  io.err(
    `\nAbout to roll ${c.state.workload.kind}/${c.state.workload.name} in ${c.d.namespace} (context ${c.cluster.contextName}) back to PostgreSQL ` +
      `${c.state.fromVersion}, ${c.via === 'snapshot' ? `restoring its PVC from snapshot ${c.state.snapshot}: anything written since the snapshot is lost` : 'putting the old directories back'}.\n` +
      (resumes ? `${resumes}\n` : ''),
  );
  await confirmOrStop(ctx.flags.yes === true, 'rollback stops the database');
  await holdingLock(
    await lockRecord(
      c.cluster,
      c.d.namespace,
      c.names.state,
      `${c.state.workload.kind}/${c.state.workload.name}`,
      c.stateVersion,
    ),
    (m) => io.err(m),
    () => new Listr<RollbackCtx, typeof renderer, 'simple'>(tasks.slice(2), listOpts).run(c),
  );
  io.out(
    `${c.state.workload.kind}/${c.state.workload.name} in ${c.d.namespace} runs PostgreSQL ${c.state.fromVersion} again (${c.via === 'snapshot' ? `restored from ${c.state.snapshot}` : 'directories put back'}); the fingerprint is equal.`,
  );
}

/** `upgrade`: plan (read-only), confirm, then the recorded phases. */
export async function runUpgrade(
  ctx: CommandContext,
  opts: UpgradeOptions & { dryRun: boolean; output: OutputFormat },
  io: Io,
): Promise<void> {
  const listOpts = listrOptions(ctx.flags, opts.dryRun);
  const renderer = listOpts.renderer;
  const c = {} as UpgradeCtx;
  try {
    await new Listr<UpgradeCtx, typeof renderer, 'simple'>(
      createPlanTasks(() => ctx.cluster(), opts),
      listOpts,
    ).run(c);
  } finally {
    await c.probe?.dispose();
  }
  if (c.nothingToDo) {
    io.err(c.nothingToDo);
    return;
  }
  if (c.bumped && !c.resuming) await stopBumped(ctx, c, opts, io, listOpts);
  if (opts.dryRun) {
    await printPlanned(c, opts, io);
    return;
  }
  if (!c.resuming) await confirmUpgrade(c, io, ctx.flags.yes === true);
  sayHowToGoOnAfterInterrupt(c, opts, io);
  c.lock = await lockRecord(
    c.cluster,
    c.d.namespace,
    c.names.state,
    `${c.d.workload.kind}/${c.d.workload.metadata.name}`,
    c.stateVersion,
  );
  await holdingLock(
    c.lock,
    (m) => io.err(m),
    () => new Listr<UpgradeCtx, typeof renderer, 'simple'>(createApplyTasks(opts), listOpts).run(c),
  );
  const s = c.state as UpgradeState;
  if (c.stoppedForManualPatch) {
    io.err(manualPatchMessage(c, s));
    return;
  }
  await reportUpgrade(c, opts, io, listOpts);
}

/** --dry-run: every object and patch of a new upgrade, in order, as YAML. */
async function printPlanned(c: UpgradeCtx, opts: UpgradeOptions, io: Io): Promise<void> {
  if (c.resuming)
    throw usageError(`an upgrade is under way (last phase "${c.state?.phase}"); --dry-run plans only a new one`);
  const { dump } = await import('js-yaml');
  const [record, ...rest] = plannedObjects(c, opts);
  const held = await plannedRecordObjects(c.cluster, c.d.namespace, c.names.state);
  io.out([record, ...held, ...rest].map((o) => dump(o, { noRefs: true, lineWidth: 120 })).join('---\n'));
}

/** Nothing is undone on Ctrl-C: every phase is recorded, and the Job goes on by itself. Say how to go on. */
function sayHowToGoOnAfterInterrupt(c: UpgradeCtx, opts: UpgradeOptions, io: Io): void {
  const ref = refOf({ kind: c.d.workload.kind, name: c.d.workload.metadata.name });
  onInterrupt(async () =>
    io.err(
      `The upgrade is recorded in ConfigMap ${c.names.state}. Resume: kubectl pgupgrade upgrade -n ${c.d.namespace} ${ref} ` +
        `--to ${opts.to} --method ${opts.method}; or undo: kubectl pgupgrade upgrade -n ${c.d.namespace} ${ref} --rollback` +
        pausedNote(c),
    ),
  );
}

/** --no-patch-workload: the change to make by hand, the Helm values, the GitOps warning and what stays paused. */
function manualPatchMessage(c: UpgradeCtx, s: UpgradeState): string {
  const values = helmImageValues(c.d.workload, s.targetImage);
  return [
    manualPatchAdvice(s, c.d.namespace),
    ...(values ? [values] : []),
    ...gitopsWarning(c.d.managers).map((l) => l.trim()),
    ...(s.pausedOwners?.length
      ? [
          `Left paused until the resumed run ends (then put back as they were): ${s.pausedOwners.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(', ')}`,
        ]
      : []),
  ].join('\n');
}
