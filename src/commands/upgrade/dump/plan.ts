import type { ListrTask } from 'listr2';
import type { Cluster, KObject } from '../../../k8s/cluster.ts';
import { connectTask } from '../../../connect-task.ts';
import { readSuperuser } from '../../../discovery/credentials.ts';
import { usageError } from '../../../exit-codes.ts';
import { buildDumpTarget, dumpTargetSecret } from '../../../manifests/dump-target.ts';
import { SUPERUSER_SECRET_KEY } from '../../../postgres/dump-source.ts';
import { refOf } from '../../../postgres/workload.ts';
import { createPreflightTasks } from '../../../preflight/tasks.ts';
import type { DumpState } from '../../../state/dump-state.ts';
import type { DumpCtx, DumpOptions } from './ctx.ts';
import { resumeExisting } from './existing.ts';
import { findSource } from './find-source.ts';
import { newState } from './new-state.ts';

type CheckOptions = Parameters<typeof newState>[2];

const planning = (ctx: DumpCtx): boolean => !ctx.resuming && !ctx.nothingToDo;

/** The objects of the new instance that exist already: a new run never adopts them. */
async function existingTargetObjects(cluster: Cluster, objs: KObject[]): Promise<string[]> {
  const found = await Promise.all(
    objs.map((o) =>
      cluster.readObject({
        apiVersion: o.apiVersion,
        kind: o.kind,
        namespace: o.metadata.namespace,
        name: o.metadata.name,
      }),
    ),
  );
  return objs.filter((_, i) => found[i]).map((o) => `${o.kind} ${o.metadata.name}`);
}

/** The read-only part: the source, any recorded dump upgrade, check's blocking checks for --method dump, the new instance's plan. */
export function createDumpPlanTasks(connect: () => Promise<Cluster>, opts: DumpOptions): Array<ListrTask<DumpCtx>> {
  const checkOpts = {
    workload: opts.workload,
    to: opts.to,
    method: 'dump' as const,
    appSelector: opts.appSelector,
    image: opts.targetImage,
    superuserSecret: opts.superuserSecret,
  };
  return [
    connectTask<DumpCtx>(connect),
    {
      title: 'Find the PostgreSQL workload and any upgrade by dump already under way',
      task: async (ctx, task) => {
        task.title = await findSource(ctx, opts);
      },
    },
    {
      title: 'Preflight: the blocking checks of check, for --method dump',
      enabled: planning,
      task: (_ctx, task) =>
        task.newListr(createPreflightTasks<DumpCtx>(checkOpts), {
          exitOnError: true,
        }),
    },
    {
      title: 'Judge the preflight and plan the new instance',
      enabled: (ctx) => !ctx.nothingToDo,
      task: async (ctx, task) => {
        task.title = await planTarget(ctx, opts, checkOpts);
      },
    },
  ];
}

/**
 * The "Judge the preflight and plan the new instance" task: the record (resumed, or new from check's findings) and
 * the new instance's objects made from it; a new run refuses objects of it that exist already (exit 2). The title.
 */
async function planTarget(ctx: DumpCtx, opts: DumpOptions, checkOpts: CheckOptions): Promise<string> {
  if (!ctx.password || !ctx.d.superuser) ctx.password = (await readSuperuser(ctx.cluster, ctx.d)).password;
  if (ctx.state?.target.existing)
    ctx.existing = await resumeExisting(ctx.cluster, ctx.d.namespace, ctx.state.target, opts.timeoutSeconds * 1000);
  const s = ctx.state ?? (await newState(ctx, opts, checkOpts));
  ctx.state = s;
  const built = buildDumpTarget({
    namespace: ctx.d.namespace,
    source: { workload: ctx.d.workload, container: ctx.d.container, flavour: ctx.d.flavour, pvc: ctx.d.pvc },
    major: s.to,
    image: s.target.image,
    superuser: { user: s.target.superuser, secret: ctx.existing ? { name: '', key: '' } : targetSecretOf(ctx, s) },
    storageClass: opts.storageClass,
    size: s.target.size ?? opts.size,
    md5Logins: s.target.md5Logins,
    initdbArgs: s.target.initdb,
    serviceSelectors: s.services.map((x) => x.before.selector),
  });
  // An existing target: only its pods' selector is used (its own objects are never made, changed or deleted).
  ctx.target = ctx.existing ? { ...built, name: s.target.name, cutoverSelector: ctx.existing.selector } : built;
  if (!ctx.resuming && !ctx.existing) await refuseExistingObjects(ctx, s);
  return (
    `Plan: ${refOf(s.workload)} (PostgreSQL ${s.fromVersion}) → ${
      ctx.existing
        ? `existing ${s.target.kind} ${s.target.name} (PostgreSQL ${ctx.existing.version}, empty)`
        : `new ${s.target.kind} ${s.target.name} (${s.target.image}, PVC ${s.target.pvc})`
    }, ` + `Services to cut over: ${s.services.map((x) => x.name).join(', ') || 'none'}`
  );
}

/** A new run refuses (exit 2) objects of the new instance that exist already, with no record of them. */
async function refuseExistingObjects(ctx: DumpCtx, s: DumpState): Promise<void> {
  const target = ctx.target as NonNullable<DumpCtx['target']>;
  const secret = s.target.secret ? [dumpTargetSecret(ctx.d.namespace, s.target.name, refOf(s.workload))] : [];
  const there = await existingTargetObjects(ctx.cluster, [...secret, target.pvc, target.service, target.workload]);
  if (there.length) {
    throw usageError(
      `the new instance's ${there.join(', ')} exist${there.length > 1 ? '' : 's'} already in ${ctx.d.namespace}, with no record of an upgrade ` +
        `by dump: delete ${there.length > 1 ? 'them' : 'it'} if nothing needs ${there.length > 1 ? 'them' : 'it'}; nothing was changed`,
    );
  }
}

/**
 * The Secret that the new instance reads its superuser's password from: the source's, or, where the source had it
 * written in its manifest, the one this upgrade creates (its name recorded; the value is the password read, never
 * written into a manifest). Exit 2 when there is neither.
 */
function targetSecretOf(ctx: DumpCtx, s: DumpState): { name: string; key: string } {
  if (s.target.secret) return { name: s.target.secret, key: SUPERUSER_SECRET_KEY };
  const secret = ctx.d.superuser?.secret;
  if (secret) return secret;
  throw usageError(
    `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name}: the superuser's password is in no Secret that the new instance ` +
      `could read; put it in a Secret (or pass --superuser-secret <secret>/<key>); nothing was changed`,
  );
}
