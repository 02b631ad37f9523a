import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { blockingError } from '../../exit-codes.ts';
import { printReport, type Io } from '../../output.ts';
import type { OutputFormat } from '../../renderer.ts';
import { listrOptions } from '../../listr-options.ts';
import { createCheckTasks, type CheckCtx, type CheckOptions } from '../../preflight/tasks.ts';
import { evaluate } from '../../preflight/evaluate.ts';
import { evidenceOf } from '../../preflight/evidence.ts';
import { buildReport, reportText } from './report.ts';

/** `check`: runs the read-only tasks, judges what they found, prints the report; exit 3 on any fail. */
export async function runCheck(
  ctx: CommandContext,
  opts: CheckOptions & { output: OutputFormat },
  io: Io,
): Promise<void> {
  const listOpts = listrOptions(ctx.flags);
  const renderer = listOpts.renderer;
  const list = new Listr<CheckCtx, typeof renderer, 'simple'>(
    createCheckTasks(() => ctx.cluster(), opts),
    listOpts,
  );
  const c = {} as CheckCtx;
  try {
    await list.run(c);
  } finally {
    await c.probe?.dispose();
  }
  const evidence = evidenceOf(c, opts);
  const report = buildReport(evidence, c.cluster.contextName, evaluate(evidence));
  await printReport(io, opts.output, report, reportText);
  if (report.summary.fail > 0) throw blockingError('');
}
