import { Listr } from 'listr2';
import type { CommandContext } from '../context.ts';
import { blockingError } from '../exit-codes.ts';
import { printReport, type Io } from '../output.ts';
import { isKnownRepo, upgradeImageFor } from '../postgres/images.ts';
import { majorOf, upgradePathProblem } from '../postgres/versions.ts';
import { chooseRenderer, detectRendererEnv, type OutputFormat } from '../renderer.ts';
import { createCheckTasks, type CheckCtx, type CheckOptions } from '../tasks/check.ts';
import { evaluate, type Evidence } from './evaluate.ts';
import { buildReport, reportText } from './report.ts';

/** `check`: runs the read-only tasks, judges what they found, prints the report; exit 3 on any fail. */
export async function runCheck(ctx: CommandContext, opts: CheckOptions & { output: OutputFormat }, io: Io): Promise<void> {
  const renderer = chooseRenderer(detectRendererEnv(ctx.flags));
  const list = new Listr<CheckCtx, typeof renderer, 'simple'>(createCheckTasks(() => ctx.cluster(), opts), { renderer, fallbackRenderer: 'simple', exitOnError: true, collectErrors: false, registerSignalListeners: false });
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

/** What check found, in the shape its rules judge; upgrade's preflight judges the same. */
export function evidenceOf(c: CheckCtx, opts: CheckOptions): Evidence {
  const from = c.server ? majorOf(String(c.server.versionNum)) : c.volume?.pgVersion ? Number(c.volume.pgVersion) : undefined;
  const targetImage = opts.image ?? (opts.method === 'dump' ? `postgres:${opts.to}` : from !== undefined ? upgradeImageFor(from, opts.to) : `tianon/postgres-upgrade:?-to-${opts.to}`);
  return {
    d: c.d, to: opts.to, method: opts.method, targetImage,
    targetIsStock: opts.image === undefined || isKnownRepo(opts.image) || targetImage.startsWith('tianon/postgres-upgrade:'),
    access: c.access, snapshotDrivers: c.snapshotDrivers, server: c.server, databases: c.databases,
    credentialsError: c.credentialsError, volume: c.volume,
    pathProblem: from === undefined ? undefined : upgradePathProblem(from, opts.to, opts.method),
    offline: c.probe ? { probe: c.probe.pod, image: c.probe.image, controlData: c.controlData, serverError: c.serverError, pgUpgradeCheck: c.pgUpgradeCheck } : undefined,
  };
}
