import type { ListrTask } from 'listr2';
import { requireVolume } from '../discovery/discover.ts';
import { gatherServer, gatherVolume } from '../server/gather.ts';
import { pgUpgradeCheck, readControlData, startProbe, startServer, stopServer } from '../probe/probe.ts';
import { upgradeImageFor } from '../postgres/images.ts';
import { isServerImage } from '../postgres/libc.ts';
import { initdbOptions } from '../postgres/rules.ts';
import { tagMajor } from '../postgres/workload.ts';
import type { ControlData } from '../postgres/volume-facts.ts';
import { isOffline, verifyTarget, type CheckCtx, type CheckOptions } from './context.ts';

/**
 * The probe's image: --image, unless it is only the new server's (an in-place method needs both majors), else the
 * upgrade image of the tag's major (it has both majors, and pg_upgrade), else the workload's.
 */
export function probeImageFor(ctx: CheckCtx, opts: CheckOptions): string {
  if (opts.image && (opts.method === 'dump' || !isServerImage(opts.image))) return opts.image;
  const from = ctx.dataMajor ?? tagMajor(ctx.d.image);
  return opts.method === 'dump' || from === undefined || from >= opts.to
    ? ctx.d.image
    : (upgradeImageFor(from, opts.to) ?? ctx.d.image);
}

/** initdb options when the server could not be started: the user's --initdb-* flags and pg_controldata. */
export function initdbFromFlags(opts: CheckOptions, cd: ControlData | undefined): string[] | undefined {
  const i = opts.initdb;
  if (!i?.encoding || !i.lcCollate || !i.lcCtype) return undefined;
  const seg = cd ? cd.walSegmentBytes / 2 ** 20 : 16;
  return [
    `--encoding=${i.encoding}`,
    `--lc-collate=${i.lcCollate}`,
    `--lc-ctype=${i.lcCtype}`,
    ...(cd?.checksums ? ['--data-checksums'] : opts.to >= 18 ? ['--no-data-checksums'] : []),
    ...(seg !== 16 ? [`--wal-segsize=${seg}`] : []),
  ];
}

/** The stopped database's volume, which the probe pod mounts (check refused a stopped source without one). */
const onVolume = (ctx: CheckCtx) => requireVolume(ctx.d, 'a probe pod has nothing to read');
const serverUp = (ctx: CheckCtx) => isOffline(ctx) && ctx.serverError === undefined;
const fromMajor = (ctx: CheckCtx) => Number(ctx.volume?.pgVersion ?? 0);

/** The stopped-database path: a probe pod on the volume reads pg_controldata, starts the old major without TCP, runs pg_upgrade --check. */
export function createOfflineTasks<C extends CheckCtx = CheckCtx>(opts: CheckOptions): Array<ListrTask<C>> {
  return [
    {
      title: 'Start a probe pod on the data volume',
      enabled: isOffline,
      task: async (ctx, task) => {
        ctx.probe = await startProbe(ctx.cluster, onVolume(ctx), probeImageFor(ctx, opts));
        task.title = `Start a probe pod on the data volume: ${ctx.probe.pod} (${ctx.probe.image}), deleted when check ends`;
      },
    },
    {
      title: 'Read pg_controldata and the data volume',
      enabled: isOffline,
      task: async (ctx, task) => {
        const probe = ctx.probe as NonNullable<CheckCtx['probe']>;
        ctx.volume = await gatherVolume(ctx.cluster, onVolume(ctx), probe, ctx.d.pgdata, opts.method === 'clone');
        ctx.controlData = await readControlData(ctx.cluster, onVolume(ctx), probe);
        verifyTarget(ctx, fromMajor(ctx), opts, String(fromMajor(ctx)));
        task.title = `Read pg_controldata and the data volume: PostgreSQL ${ctx.volume.pgVersion}, ${ctx.controlData.state}`;
      },
    },
    {
      title: 'Start the old server in the probe pod, with no TCP listener',
      enabled: isOffline,
      task: async (ctx, task) => {
        ctx.serverError = await startServer(ctx.cluster, onVolume(ctx), ctx.probe as NonNullable<CheckCtx['probe']>);
        if (ctx.serverError)
          task.title = `Start the old server in the probe pod: it did not start (${ctx.serverError.split('\n').pop()})`;
      },
    },
    {
      title: 'Query the server',
      enabled: serverUp,
      task: async (ctx, task) => {
        const probe = ctx.probe as NonNullable<CheckCtx['probe']>;
        Object.assign(ctx, await gatherServer(ctx.cluster, ctx.d, { ...probe, socketDir: '/tmp' }, ''));
        if (ctx.server) ctx.server.hba = null;
        task.title = `Query the server: PostgreSQL ${ctx.server?.version}, ${ctx.databases?.size} databases`;
      },
    },
    {
      title: 'Stop the old server cleanly',
      enabled: serverUp,
      task: (ctx) => stopServer(ctx.cluster, onVolume(ctx), ctx.probe as NonNullable<CheckCtx['probe']>),
    },
    {
      title: `Run pg_upgrade --check for PostgreSQL ${opts.to}`,
      enabled: (ctx) => isOffline(ctx) && opts.method !== 'dump',
      skip: (ctx) =>
        ctx.server || initdbFromFlags(opts, ctx.controlData)
          ? false
          : 'no initdb options: the server did not start; pass --initdb-encoding, --initdb-lc-collate and --initdb-lc-ctype',
      task: async (ctx, task) => {
        const probe = ctx.probe as NonNullable<CheckCtx['probe']>;
        const initdb = ctx.server ? initdbOptions(ctx.server, opts.to) : (initdbFromFlags(opts, ctx.controlData) ?? []);
        const user = ctx.server?.installUser ?? ctx.d.superuser?.user ?? 'postgres';
        const r = await pgUpgradeCheck(ctx.cluster, onVolume(ctx), probe, user, fromMajor(ctx), opts.to, initdb);
        ctx.pgUpgradeCheck = { ...r, image: probe.image };
        task.title = `Run pg_upgrade --check for PostgreSQL ${opts.to}: ${r.ok ? 'passed' : 'failed'}`;
      },
    },
  ];
}
