import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { confirmOrStop } from '../../confirm.ts';
import { discoverWithApps } from '../../discovery/named-apps.ts';
import { CliError, usageError } from '../../exit-codes.ts';
import type { Io } from '../../output.ts';
import { refOf } from '../../postgres/workload.ts';
import { scaleTo, waitPodsGone } from '../../steps/workload.ts';
import { createPlanTasks, type UpgradeCtx, type UpgradeOptions } from './tasks.ts';

/**
 * A crash-looping database whose image runs a newer major than its data: once the user confirms, it is scaled to
 * 0, and the preflight then reads the volume through a probe pod, as for any stopped database.
 */
export async function stopBumped(
  ctx: CommandContext,
  c: UpgradeCtx,
  opts: UpgradeOptions & { dryRun: boolean },
  io: Io,
  listOpts: object,
): Promise<void> {
  const b = c.bumped as NonNullable<UpgradeCtx['bumped']>;
  const where = `${c.d.workload.kind} ${c.d.namespace}/${c.d.workload.metadata.name}`;
  if (opts.dryRun) {
    throw usageError(
      `${where} crash-loops (its image runs PostgreSQL ${b.serverMajor}, the data is ${b.dataMajor}): its volume can only be read once it is ` +
        `stopped, which a dry run does not do. Run without --dry-run: it asks before it stops anything`,
    );
  }
  io.err(
    [
      '',
      `${where}: pod ${c.d.pod?.metadata.name} crash-loops: its image ${c.d.image} runs PostgreSQL ${b.serverMajor}; the data is PostgreSQL ${b.dataMajor}.`,
      `  The server says: ${b.lines}`,
      `  To upgrade the data to ${b.serverMajor} and keep the image, the database is scaled to 0 first (it cannot run anyway); ` +
        `then its volume is checked through a probe pod, and you confirm the upgrade itself.`,
      '',
    ].join('\n'),
  );
  await confirmOrStop(ctx.flags.yes === true, 'upgrade stops the crash-looping database');
  const w = { kind: c.d.workload.kind, name: c.d.workload.metadata.name, replicas: 0 };
  await scaleTo(c.cluster, c.d.namespace, w, 0);
  await waitPodsGone(
    c.cluster,
    c.d.namespace,
    c.d.workload.selector,
    'the crash-looping database pod',
    opts.timeoutSeconds * 1000,
    c.d.workload.matchExpressions,
  );
  c.bumpedStopped = true;
  c.d = await discoverWithApps(c.cluster, c.d.namespace, refOf(w), opts);
  c.mode = 'offline';
  try {
    await new Listr<UpgradeCtx>(createPlanTasks(() => ctx.cluster(), opts).slice(2), listOpts as never).run(c);
  } catch (err) {
    if (err instanceof CliError) {
      throw new CliError(
        `${err.message}\n${where} stays scaled to 0 (it could not run on this image anyway); to go back, set its image to your PostgreSQL ` +
          `${b.dataMajor} image and scale it to ${b.replicas}`,
        err.exitCode,
      );
    }
    throw err;
  } finally {
    await c.probe?.dispose();
  }
}
