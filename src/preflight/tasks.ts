import type { ListrTask } from 'listr2';
import { connectTask } from '../connect-task.ts';
import type { Cluster } from '../k8s/cluster.ts';
import { discover, DUMP_SOURCE, requireVolume, volumeNote } from '../discovery/discover.ts';
import { clientsNote } from '../discovery/clients.ts';
import { CredentialsError } from '../server/psql.ts';
import { gatherServer, gatherVolume, remoteLoginRefusal } from '../server/gather.ts';
import { liveReach, modeOf, readPassword } from '../server/reach.ts';
import { permissionsForMethod } from '../rbac.ts';
import { createOfflineTasks } from './offline.ts';
import { incompatibleAdvice, incompatibleImage } from '../discovery/crash-loop.ts';
import { blockingError } from '../exit-codes.ts';
import { isLive, verifyTarget, type CheckCtx, type CheckOptions } from './context.ts';
import { managersOfAll } from '../postgres/gitops.ts';
import { healingOwners, ownerKey } from '../postgres/gitops-pause.ts';
import { readOwners } from '../steps/gitops.ts';

export type { CheckCtx, CheckOptions } from './context.ts';

/** The read-only preflight as a task tree. The probe pod of the offline path is its only write, and temporary. */
export function createCheckTasks(connect: () => Promise<Cluster>, opts: CheckOptions): Array<ListrTask<CheckCtx>> {
  return [
    connectTask<CheckCtx>(connect),
    { title: 'Find the PostgreSQL workload', task: (ctx, task) => findWorkload(ctx, task, opts) },
    ...createPreflightTasks<CheckCtx>(opts),
  ];
}

/**
 * check's tasks after the workload is found: what upgrade runs as its preflight (it finds the workload, and any
 * recorded upgrade, itself).
 */
export function createPreflightTasks<C extends CheckCtx>(opts: CheckOptions): Array<ListrTask<C>> {
  return [
    { title: 'Ask the apiserver what this user may do', task: (ctx, task) => readAccess(ctx, task, opts) },
    {
      title: 'Read the Argo CD and Flux objects that manage the workload or its applications',
      task: (ctx, task) => readGitopsOwners(ctx, task),
    },
    {
      title: 'Read the superuser password from its Secret',
      enabled: isLive,
      task: async (ctx) => void (ctx.password = await readPassword(ctx.cluster, ctx.d)),
    },
    { title: 'Query the server', enabled: isLive, task: (ctx, task) => queryServer(ctx, task, opts) },
    {
      title: 'Inspect the data volume',
      enabled: isLive,
      task: async (ctx) =>
        void (ctx.volume = await gatherVolume(
          ctx.cluster,
          ctx.d,
          liveReach(ctx.d),
          ctx.server?.dataDirectory ?? ctx.d.pgdata,
          opts.method === 'clone',
        )),
    },
    ...createOfflineTasks<C>(opts),
  ];
}

/** Finds the workload; a crash-looping newer image, or a database without a volume that is not running, stops check. */
async function findWorkload(ctx: CheckCtx, task: { title: string }, opts: CheckOptions): Promise<void> {
  ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, opts.appSelector, {
    superuserSecret: opts.superuserSecret,
    ...(opts.method === 'dump' ? DUMP_SOURCE : {}),
  });
  const bumped = await incompatibleImage(ctx.cluster, ctx.d);
  if (bumped) throw blockingError(incompatibleAdvice(ctx.d, bumped));
  ctx.mode = modeOf(ctx.d);
  if (ctx.mode !== 'live')
    requireVolume(ctx.d, 'its data went with its last container: there is nothing to check or to upgrade');
  const how = ctx.mode === 'live' ? `pod ${ctx.d.pod?.metadata.name}` : 'no pod: the database is stopped';
  task.title = `Find the PostgreSQL workload: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, ${volumeNote(ctx.d)}, ${how}${clientsNote(ctx.d.clients)}`;
}

/** Every permission the method needs, by SelfSubjectAccessReview, and the snapshot classes' drivers. */
async function readAccess(ctx: CheckCtx, task: { title: string }, opts: CheckOptions): Promise<void> {
  const perms = permissionsForMethod(opts.method);
  const answers = await ctx.cluster.canI(
    perms.map((p) => ({ ...p, namespace: p.clusterScoped ? undefined : ctx.d.namespace })),
  );
  ctx.access = perms.map((permission, i) => ({ permission, allowed: answers[i] === true }));
  ctx.snapshotDrivers = await ctx.cluster.snapshotClassDrivers().catch(() => undefined);
  task.title = `Ask the apiserver what this user may do: ${answers.filter(Boolean).length} of ${perms.length} permissions granted`;
}

/** The Argo CD and Flux objects named by the workload's and its applications' markers, as they read. */
async function readGitopsOwners(ctx: CheckCtx, task: { title: string }): Promise<void> {
  const refs = healingOwners(managersOfAll([ctx.d.workload, ...ctx.d.apps]), ctx.d.namespace);
  ctx.ownerReadings = await readOwners(ctx.cluster, refs);
  task.title = `Read the Argo CD and Flux objects: ${refs.length ? ctx.ownerReadings.map((r) => (r.obj ? `${ownerKey(r.ref)}: ${r.why}` : r.why)).join('; ') : 'none named'}`;
}

/** The server's facts; a password it refuses is a finding (credentials), not an error of check. */
async function queryServer(ctx: CheckCtx, task: { title: string }, opts: CheckOptions): Promise<void> {
  try {
    const got = await gatherServer(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password, opts.method === 'dump');
    Object.assign(ctx, got);
    verifyTarget(ctx, Math.floor(got.server.versionNum / 10000), opts, got.server.version);
    const refused = await remoteLoginRefusal(ctx.cluster, ctx.d, ctx.password);
    if (refused?.password)
      ctx.credentialsError = `${refused.password} (127.0.0.1 let it in: the server trusts local logins there, so the Secret's password was not tested)`;
    // The dump's load logs in so, from the new instance's pod; in place, every session is local.
    if (refused?.hba && opts.method === 'dump') ctx.remoteLoginError = refused.hba;
    task.title = `Query the server: PostgreSQL ${got.server.version}, ${got.databases.size} databases`;
  } catch (err) {
    if (!(err instanceof CredentialsError)) throw err;
    // The images' initdb --pwfile keeps the first line only: a Secret value ending in a newline (echo without
    // -n, a YAML block scalar) set the password without it. Say so, since the value itself is never shown.
    ctx.credentialsError = /[\r\n]$/.test(ctx.password)
      ? `${err.message} (the Secret's value ends in a line break, which the server's password may not have: initdb --pwfile keeps the first line only)`
      : err.message;
  }
}
