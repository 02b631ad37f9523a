import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { confirmName, confirmOrStop } from '../../confirm.ts';
import { printReport, type Io } from '../../output.ts';
import type { OutputFormat } from '../../renderer.ts';
import { listrOptions } from '../../listr-options.ts';
import { holdingLock, lockRecord } from '../../state/lock.ts';
import { planText, type CleanupItem } from './plan.ts';
import { createCleanupPlanTasks, type CleanupCtx, type CleanupOptions } from './tasks.ts';
import { createRemoveTasks } from './remove.ts';
import { createDumpRemoveTasks } from './dump-remove.ts';
import { planDump } from './dump-tasks.ts';

/** What `cleanup -o json|yaml` prints: what went (or, with --dry-run, would go) and what stays. */
export interface CleanupReport {
  namespace: string;
  workload: string;
  dryRun: boolean;
  /** The guards that --force overrode. */
  forced: string[];
  removed: CleanupItem[];
  kept: CleanupItem[];
}

/** `cleanup`: plan (read-only, guarded), list, confirm, then remove under the upgrade's lock. */
export async function runCleanup(
  ctx: CommandContext,
  opts: CleanupOptions & { output: OutputFormat },
  io: Io,
): Promise<void> {
  const listOpts = listrOptions(ctx.flags);
  const renderer = listOpts.renderer;
  const c = {} as CleanupCtx;
  await new Listr<CleanupCtx, typeof renderer, 'simple'>(
    createCleanupPlanTasks(() => ctx.cluster(), opts),
    listOpts,
  ).run(c);
  if (c.nothing) {
    io.err(c.nothing);
    return;
  }
  for (const o of c.overridden) io.err(`--force: going on although ${o}`);
  const report: CleanupReport = {
    namespace: c.d.namespace,
    workload: `${c.d.workload.kind}/${c.d.workload.metadata.name}`,
    dryRun: opts.dryRun,
    forced: c.overridden,
    removed: c.plan.remove,
    kept: c.plan.keep,
  };
  if (opts.dryRun) {
    await printReport(
      io,
      opts.output,
      report,
      (r) => `${planText(c.plan, `Would remove (${r.workload} in ${r.namespace}, --dry-run: nothing was changed)`)}`,
    );
    return;
  }
  io.err(
    `\n${planText(c.plan, `About to remove, for the upgrade of ${report.workload} in ${c.d.namespace} (context ${c.cluster.contextName}); the database keeps running`)}\n`,
  );
  if (c.offer && c.dump?.found && ctx.flags.yes !== true) {
    const s = c.dump.state;
    const named = await confirmName(
      `The old instance ${c.offer} and its PVC ${s.pvc} (PostgreSQL ${s.fromVersion}) were made by you, not by kubectl pgupgrade, and are kept.`,
      s.workload.name,
    );
    if (named) {
      c.plan = planDump({ ...c.dump, found: c.dump.found }, c.stateName, c.d.namespace, true).plan;
      Object.assign(report, { removed: c.plan.remove, kept: c.plan.keep });
      io.err(`\n${planText(c.plan, 'About to remove, the old instance with the rest')}\n`);
    }
  }
  if (!c.plan.remove.length) {
    await printReport(io, opts.output, report, () => planText(c.plan, 'Removed'));
    return;
  }
  await confirmOrStop(ctx.flags.yes === true, 'cleanup removes what the upgrade left behind');
  const lock = await lockRecord(c.cluster, c.d.namespace, c.stateName, report.workload, c.stateVersion);
  const tasks = c.dump
    ? createDumpRemoveTasks(lock, opts.timeoutSeconds)
    : createRemoveTasks(lock, opts.timeoutSeconds);
  await holdingLock(
    lock,
    (t) => io.err(t),
    () => new Listr<CleanupCtx, typeof renderer, 'simple'>(tasks, listOpts).run(c),
  );
  await printReport(io, opts.output, report, (r) => `${planText(c.plan, `Removed (${r.workload} in ${r.namespace})`)}`);
}
