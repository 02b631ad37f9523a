import type { ListrTask } from 'listr2';
import { connectTask } from '../../connect-task.ts';
import { discover, DUMP_SOURCE, type SourceDiscovery } from '../../discovery/discover.ts';
import { CliError, ExitCode, usageError } from '../../exit-codes.ts';
import type { Cluster } from '../../k8s/cluster.ts';
import { cleanupJobName } from '../../manifests/upgrade-job.ts';
import { upgradePaths } from '../../postgres/upgrade-script.ts';
import { cleanupPermissions, describePermissions } from '../../rbac.ts';
import type { UpgradeState } from '../../state/state.ts';
import { readRecorded } from '../../state/recorded.ts';
import { ageProblem, overrideOrRefuse, unfinishedProblem, unvalidatedProblem } from './guards.ts';
import { planCleanup, type CleanupPlan, type Recorded } from './plan.ts';
import { findOwned } from './find-owned.ts';
import { dumpGuards, findDump, planDump, type DumpCleanup } from './dump-tasks.ts';
import { mountedPvcProblem } from './pvc-users.ts';

/** What `cleanup` was asked to do. */
export interface CleanupOptions {
  workload?: string;
  olderThanMs: number;
  /** --older-than as typed, for messages. */
  olderThan: string;
  keepSnapshots: boolean;
  dryRun: boolean;
  force: boolean;
  /** By dump: delete the old instance (the source workload and its PVC) too, named by the record. */
  deleteOldInstance: boolean;
  timeoutSeconds: number;
}

/** What the tasks share. */
export interface CleanupCtx {
  cluster: Cluster;
  /** The workload found (by dump, the source: it may have no volume). */
  d: SourceDiscovery;
  /** In place: the record. */
  state: UpgradeState;
  /** By dump: its record and what was found of it (then `state` is not set). */
  dump?: DumpCleanup;
  /** By dump: the old instance (sts/x, deploy/x) that could go but was not named: the prompt offers it. */
  offer?: string;
  stateName: string;
  /** The record's resourceVersion when read: the lock makes sure that nobody changed it before the first removal. */
  stateVersion?: string;
  recorded: Recorded;
  plan: CleanupPlan;
  /** The guards that --force overrode, each said to the user. */
  overridden: string[];
  /** Set when there is no record: nothing to do, and why. */
  nothing?: string;
}

/**
 * The record, bound to the workload found now, by readRecorded's precedence (an unfinished one first, then by dump,
 * then in place); its guards, each either refusing (exit 2) or overridden by --force.
 */
async function readRecord(ctx: CleanupCtx, opts: CleanupOptions): Promise<void> {
  const ns = ctx.d.namespace;
  const rec = await readRecorded(ctx.cluster, ctx.d);
  const active = rec.active;
  if (active?.method === 'dump') {
    Object.assign(ctx, {
      stateName: active.name,
      stateVersion: active.cm.metadata.resourceVersion,
      overridden: dumpGuards(active, ns, opts),
      dump: { state: active.state },
    });
    return;
  }
  if (!ctx.d.pvc) {
    // No volume at PGDATA: only an upgrade by dump could have been made of it, and none is recorded.
    ctx.nothing =
      `no upgrade of ${ctx.d.workload.kind} ${ns}/${ctx.d.workload.metadata.name} is recorded (it has no volume, and no ConfigMap ` +
      `${rec.names.dump}): nothing to clean up`;
    return;
  }
  ctx.stateName = rec.names.inPlace;
  if (!active) {
    ctx.nothing = `no upgrade of ${ctx.d.workload.kind} ${ns}/${ctx.d.workload.metadata.name} is recorded (ConfigMap ${ctx.stateName}): nothing to clean up`;
    return;
  }
  const { cm, state: s } = active;
  const unfinished = unfinishedProblem(s, ns);
  if (unfinished) throw usageError(unfinished);
  ctx.overridden = overrideOrRefuse(
    [ageProblem(s, new Date(), opts.olderThanMs, opts.olderThan), unvalidatedProblem(cm, s, ns)],
    opts.force,
  );
  ctx.state = s;
  ctx.stateVersion = cm.metadata.resourceVersion;
  const paths = upgradePaths(s.jobSpec.pgdata, s.from, s.to);
  ctx.recorded = { state: s, stateName: ctx.stateName, kept: paths.kept, work: paths.work };
}

/** Refuses (exit 1, nothing changed) when this user may not do all that cleanup does, naming what is missing. */
async function verifyAccess(ctx: CleanupCtx): Promise<void> {
  const perms = cleanupPermissions(ctx.dump !== undefined);
  const answers = await ctx.cluster.canI(
    perms.map((p) => ({ ...p, namespace: p.clusterScoped ? undefined : ctx.d.namespace })),
  );
  const missing = describePermissions(perms.filter((_, i) => answers[i] !== true));
  if (missing.length === 0) return;
  throw new CliError(
    `this user (context ${ctx.cluster.contextName}) may not do what cleanup does in namespace ${ctx.d.namespace}; nothing was changed. ` +
      `Missing: ${missing.join(', ')}. Grant them (docs/rbac.md lists cleanup's), or run cleanup as someone who has them`,
    ExitCode.failed,
  );
}

/** Refuses (exit 1, nothing changed) when a pod mounts a PVC that the plan removes, naming it. */
async function refuseMountedPvcs(ctx: CleanupCtx): Promise<void> {
  if (!ctx.plan.remove.some((i) => i.kind === 'PersistentVolumeClaim')) return;
  const problem = mountedPvcProblem(ctx.plan, await ctx.cluster.listPods(ctx.d.namespace), ctx.d.namespace);
  if (problem) throw new CliError(problem, ExitCode.failed);
}

/** The plan of what goes, from what the record names and what is found of it; a mounted PVC in it refuses (exit 1). */
async function listLeftBehind(ctx: CleanupCtx, opts: CleanupOptions): Promise<void> {
  if (ctx.dump) {
    ctx.dump.found = await findDump(ctx.cluster, ctx.d, ctx.dump.state);
    Object.assign(
      ctx,
      planDump({ ...ctx.dump, found: ctx.dump.found }, ctx.stateName, ctx.d.namespace, opts.deleteOldInstance),
    );
  } else {
    ctx.plan = planCleanup(ctx.recorded, await findOwned(ctx), {
      keepSnapshots: opts.keepSnapshots,
      jobName: cleanupJobName(ctx.state.jobSpec),
      uid: ctx.state.jobSpec.uid,
      image: ctx.state.jobSpec.image,
    });
  }
  await refuseMountedPvcs(ctx);
}

/** The read-only part: the workload, its record, the guards, the access check, and the list of what goes. */
export function createCleanupPlanTasks(
  connect: () => Promise<Cluster>,
  opts: CleanupOptions,
): Array<ListrTask<CleanupCtx>> {
  const going = (ctx: CleanupCtx) => !ctx.nothing;
  return [
    connectTask<CleanupCtx>(connect),
    {
      title: 'Find the workload and the record of its upgrade',
      task: async (ctx, task) => {
        ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, {}, DUMP_SOURCE);
        await readRecord(ctx, opts);
        const dump = ctx.dump?.state;
        if (ctx.nothing) task.title = 'Find the workload and the record of its upgrade: none recorded';
        else if (dump)
          task.title = `Find the workload and the record of its upgrade: ${dump.workload.kind} ${dump.workload.name}, by dump into ${dump.target.name}, ${dump.fromVersion} → ${dump.to}, ${dump.phase}`;
        else
          task.title = `Find the workload and the record of its upgrade: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, ${ctx.state.fromVersion} → ${ctx.state.to}, done`;
      },
    },
    {
      title: 'Ask the apiserver whether this user may remove it all',
      enabled: (ctx) => going(ctx) && !opts.dryRun,
      task: verifyAccess,
    },
    {
      title: 'List what the upgrade left behind',
      enabled: going,
      task: async (ctx, task) => {
        await listLeftBehind(ctx, opts);
        task.title = `List what the upgrade left behind: ${ctx.plan.remove.length} to remove, ${ctx.plan.keep.length} kept`;
      },
    },
  ];
}
