import { Listr } from 'listr2';
import type { CommandContext } from '../../../context.ts';
import { confirmOrStop } from '../../../confirm.ts';
import { blockingError, usageError } from '../../../exit-codes.ts';
import { onInterrupt } from '../../../interrupt.ts';
import type { Io } from '../../../output.ts';
import { refOf } from '../../../postgres/workload.ts';
import type { OutputFormat } from '../../../renderer.ts';
import { listrOptions } from '../../../listr-options.ts';
import { holdingLock, lockRecord } from '../../../state/lock.ts';
import { createValidateTasks } from '../../../validation/tasks.ts';
import { validateNow, type ValidateReport } from '../../../validation/report.ts';
import { createDumpApplyTasks, plannedDumpObjects } from './apply.ts';
import { rollbackResumeNote } from '../../../postgres/gitops-git-change.ts';
import { stoppedNotes, withStoppedNotes } from './stopped.ts';
import { dst, type DumpCtx, type DumpOptions } from './ctx.ts';
import { confirmText } from './confirm-text.ts';
import { printDumpReport } from './dump-report.ts';
import { createDumpPlanTasks } from './plan.ts';
import { plannedRecordObjects } from '../../../state/planned-record.ts';
import { createDumpRollbackFindTasks, createDumpRollbackTasks, type DumpRollbackOptions } from './rollback.ts';

type UpgradeOptions = DumpOptions & { dryRun: boolean; output: OutputFormat };

const listOptions = (ctx: CommandContext, dryRun = false) => listrOptions(ctx.flags, dryRun);

type ListOptions = ReturnType<typeof listOptions>;

/** The read-only plan: its tasks run on a fresh context, the probe pod they may start disposed of whatever happens. */
async function planDump(ctx: CommandContext, opts: UpgradeOptions, listOpts: ListOptions): Promise<DumpCtx> {
  const c = {} as DumpCtx;
  try {
    await new Listr<DumpCtx, typeof listOpts.renderer, 'simple'>(
      createDumpPlanTasks(() => ctx.cluster(), opts),
      listOpts,
    ).run(c);
  } finally {
    await c.probe?.dispose();
  }
  return c;
}

/** --dry-run: the objects a new upgrade by dump would create, as YAML; refused while one is under way. */
async function printPlannedObjects(c: DumpCtx, opts: UpgradeOptions, io: Io): Promise<void> {
  if (c.resuming)
    throw usageError(`an upgrade by dump is under way (last phase "${dst(c).phase}"); --dry-run plans only a new one`);
  const { dump } = await import('js-yaml');
  const [record, ...rest] = plannedDumpObjects(c, opts.timeoutSeconds, opts.fullVerify);
  const held = await plannedRecordObjects(c.cluster, c.d.namespace, c.stateName);
  io.out(
    [record, ...held, ...rest]
      .map((o) => dump(JSON.parse(JSON.stringify(o)), { noRefs: true, lineWidth: 120 }))
      .join('---\n'),
  );
}

/** The recorded phases, under the record's lock; an interrupt says how to resume or undo. */
async function applyDump(c: DumpCtx, opts: UpgradeOptions, listOpts: ListOptions, io: Io, ref: string): Promise<void> {
  onInterrupt(async () =>
    io.err(
      [
        `The upgrade is recorded in ConfigMap ${c.stateName}. Resume: kubectl pgupgrade upgrade -n ${c.d.namespace} ${ref} ` +
          `--to ${opts.to} --method dump; or undo: kubectl pgupgrade upgrade -n ${c.d.namespace} ${ref} --rollback`,
        ...stoppedNotes(c),
      ].join('\n'),
    ),
  );
  c.lock = await lockRecord(c.cluster, c.d.namespace, c.stateName, ref, c.stateVersion);
  await holdingLock(
    c.lock,
    (m) => io.err(m),
    () =>
      new Listr<DumpCtx, typeof listOpts.renderer, 'simple'>(
        createDumpApplyTasks(opts.timeoutSeconds, opts.fullVerify),
        listOpts,
      ).run(c),
  ).catch((err: unknown) => {
    throw withStoppedNotes(err, stoppedNotes(c));
  });
}

/** Like the in-place upgrade, it ends with validate's checks (on the new instance); a pass is recorded for cleanup. */
async function validateNewInstance(
  c: DumpCtx,
  opts: UpgradeOptions,
  listOpts: ListOptions,
  ref: string,
): Promise<ValidateReport> {
  const vopts = {
    workload: ref,
    analyze: false,
    updateExtensions: false,
    reindexCollations: false,
    amcheck: false,
    dataComparedBy: "compared by this upgrade: the new instance's fingerprint equals the source's",
    superuserSecret: opts.superuserSecret,
  };
  return validateNow(
    createValidateTasks(async () => c.cluster, vopts),
    listOpts,
    vopts,
  );
}

/** `upgrade --method dump`: plan (read-only), confirm, then the recorded phases. */
export async function runDumpUpgrade(ctx: CommandContext, opts: UpgradeOptions, io: Io): Promise<void> {
  const listOpts = listOptions(ctx, opts.dryRun);
  const c = await planDump(ctx, opts, listOpts);
  if (c.nothingToDo) return io.err(c.nothingToDo);
  if (opts.dryRun) return printPlannedObjects(c, opts, io);
  if (!c.resuming) {
    io.err(confirmText(c));
    await confirmOrStop(ctx.flags.yes === true, 'upgrade stops the applications');
  }
  const ref = refOf(dst(c).workload);
  if (c.resuming) for (const n of stoppedNotes(c)) io.err(`Resuming. ${n}`);
  await applyDump(c, opts, listOpts, io, ref);
  const validation = await validateNewInstance(c, opts, listOpts, ref);
  await printDumpReport(io, opts.output, c, ref, validation);
  if (validation.summary.fail) {
    throw blockingError(
      `the upgrade is done, but validate's checks found ${validation.summary.fail} problem${validation.summary.fail > 1 ? 's' : ''} (above), each with its fix`,
    );
  }
}

/** `upgrade --rollback` after an upgrade by dump; false when the workload has no dump record (the in-place rollback's turn). */
export async function runDumpRollback(ctx: CommandContext, opts: DumpRollbackOptions, io: Io): Promise<boolean> {
  const listOpts = listOptions(ctx);
  const c = {} as DumpCtx;
  await new Listr<DumpCtx, typeof listOpts.renderer, 'simple'>(
    createDumpRollbackFindTasks(() => ctx.cluster(), opts),
    listOpts,
  ).run(c);
  if (!c.state) return false;
  const s = dst(c);
  const resumes = rollbackResumeNote(s.pausedOwners, s.ownersResumedAt);
  io.err(
    `\nAbout to roll ${refOf(s.workload)} in ${c.d.namespace} (context ${c.cluster.contextName}) back to its old instance (PostgreSQL ${s.fromVersion}): ` +
      `the Services back to it, the applications restarted on it. Anything written to the new instance ${s.target.name} since the cutover is lost ` +
      (s.target.existing
        ? `to them (the existing ${s.target.kind} ${s.target.name} named by --target is left running, the loaded data in it, its settings as they were).\n`
        : `(the new instance is stopped and kept, with PVC ${s.target.pvc}).\n`) +
      (resumes ? `${resumes}\n` : ''),
  );
  await confirmOrStop(ctx.flags.yes === true, 'rollback stops the applications');
  c.lock = await lockRecord(c.cluster, c.d.namespace, c.stateName, refOf(s.workload), c.stateVersion);
  await holdingLock(
    c.lock,
    (m) => io.err(m),
    () => new Listr<DumpCtx, typeof listOpts.renderer, 'simple'>(createDumpRollbackTasks(opts), listOpts).run(c),
  );
  io.out(
    `${refOf(s.workload)} in ${c.d.namespace} serves again on PostgreSQL ${s.fromVersion}; its fingerprint is equal to the one taken by the upgrade.`,
  );
  return true;
}
