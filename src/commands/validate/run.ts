import type { CommandContext } from '../../context.ts';
import { blockingError } from '../../exit-codes.ts';
import { printReport, type Io } from '../../output.ts';
import type { OutputFormat } from '../../renderer.ts';
import { listrOptions } from '../../listr-options.ts';
import { createValidateTasks, type ValidateOptions } from '../../validation/tasks.ts';
import { reportText, validateNow } from '../../validation/report.ts';

export type { ValidateReport } from '../../validation/report.ts';

/** `validate`: proves that the upgraded database is whole and ready; exit 3 on any FAIL. */
export async function runValidate(
  ctx: CommandContext,
  opts: ValidateOptions & { output: OutputFormat },
  io: Io,
): Promise<void> {
  const listOpts = listrOptions({ ...ctx.flags, output: opts.output });
  const report = await validateNow(
    createValidateTasks(() => ctx.cluster(), opts),
    listOpts,
    opts,
  );
  await printReport(io, opts.output, report, reportText);
  if (report.summary.fail)
    throw blockingError(
      `validate found ${report.summary.fail} failed check${report.summary.fail > 1 ? 's' : ''} (above), each with its fix`,
    );
}
