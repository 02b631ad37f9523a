import type { ListrTask } from 'listr2';
import { notRecorded, phaseTask, type Phase, type Planned, type StepTask } from '../../engine/phases.ts';
import { usageError } from '../../exit-codes.ts';
import { onInterrupt } from '../../interrupt.ts';
import { managersOfAll, type ManagedObject, type Manager } from '../../postgres/gitops.ts';
import { describeManager, gitopsRefusal } from '../../postgres/gitops-refusal.ts';
import {
  describePause,
  healingOwners,
  ownerKey,
  ownerRefOf,
  priorOf,
  withReadings,
  pausePatch,
  resumePatch,
  type OwnerReading,
  type PausedOwner,
} from '../../postgres/gitops-pause.ts';
import type { CheckCtx } from '../../preflight/context.ts';
import { pauseOwners, priorsOf, readOwners, resumeOwners } from '../../steps/gitops.ts';

/** What judging and pausing need of an upgrade's context, in place or by dump. */
export interface GitopsCtx extends Pick<CheckCtx, 'cluster' | 'd'> {
  /** --pause-gitops: the Argo CD/Flux objects that heal what the upgrade stops, to pause (found by the plan). */
  pauseOwners?: PausedOwner[];
}

/** What a record keeps of the pause. */
export interface PauseRecord {
  pausedOwners?: PausedOwner[];
  ownersResumedAt?: string;
}

/** How a method's record takes the pause: read and change it, record the `gitops-paused` phase, save it, and where the run stands. */
export interface PauseHooks<C> {
  rec(ctx: C): PauseRecord;
  set(ctx: C, r: PauseRecord): void;
  recordPaused(ctx: C): Promise<void>;
  save(ctx: C): Promise<void>;
  /** The applications are down: from here an interrupted run leaves the owners paused (its resumed run or the rollback resumes them). */
  appsDown(ctx: C): boolean;
  /** The applications run on the upgraded database again: the owners are resumed (before `done` is recorded, so that a re-run finds them resumed or resumes them). */
  done(ctx: C): boolean;
}

/** The healing managers that --pause-gitops cannot pause: no object of theirs was read that heals (a field manager, a 403, a 404). */
function unpausable(healing: Manager[], readings: OwnerReading[], ns: string): Manager[] {
  return healing.filter((m) => {
    const ref = ownerRefOf(m, ns);
    return !ref || !readings.some((r) => ownerKey(r.ref) === ownerKey(ref) && r.heals === true);
  });
}

/**
 * Before any downtime: who manages the database and its applications, with what their Argo CD Applications and Flux
 * objects say where they can be read. A healing one is refused (exit 2, nothing changed), unless the user paused it
 * (--gitops-paused) or asks the plugin to (--pause-gitops: what to pause is kept for the apply tasks). `also`: other
 * objects the method changes (the dump's Services).
 */
export async function judgeGitops(
  ctx: GitopsCtx,
  opts: { gitopsPaused?: boolean; pauseGitops?: boolean },
  also: ManagedObject[] = [],
): Promise<void> {
  const ns = ctx.d.namespace;
  const raw = managersOfAll([ctx.d.workload, ...ctx.d.apps, ...also]);
  const readings = await readOwners(ctx.cluster, healingOwners(raw, ns));
  const managers = withReadings(raw, readings, ns);
  if (!opts.pauseGitops) {
    const refusal = gitopsRefusal(managers, ns, !!opts.gitopsPaused);
    if (refusal) throw usageError(refusal);
    return;
  }
  const healing = managers.filter((m) => m.heals);
  const cannot = unpausable(healing, readings, ns);
  if (cannot.length) {
    throw usageError(
      `--pause-gitops cannot pause what it could not read as healing:\n${cannot.map((m) => `  ${describeManager(m, ns)}`).join('\n')}\n` +
        'Pause it yourself, then run again with --gitops-paused instead; nothing was changed',
    );
  }
  // The values as read now, for the confirmation and --dry-run; the pause itself records them afresh just before it patches.
  ctx.pauseOwners = healingOwners(healing, ns).map((ref) =>
    priorOf(ref, readings.find((r) => ownerKey(r.ref) === ownerKey(ref))?.obj ?? {}),
  );
}

/**
 * What the confirmation and the dry run say of the pause; `inGit`: the change to make in Git meanwhile, since the
 * resumed controllers apply Git again (a source that still says the old image or instance would be put back).
 */
export function pauseLines(ctx: GitopsCtx, inGit?: string): string[] {
  const owners = ctx.pauseOwners ?? [];
  if (!owners.length) return [];
  return [
    ...owners.map((o, i) => `  ${i ? '            ' : 'gitops      '} ${describePause(o)}`),
    ...(inGit
      ? [`  in Git       before the upgrade ends (they are resumed then, and apply Git again): ${inGit.split('\n')[0]}`]
      : []),
  ];
}

/** --pause-gitops: the merge patch on each Argo CD/Flux object; `back`: the one that puts back its value (as read now; recorded before the pause). */
export const gitopsSteps = (owners: PausedOwner[], back: boolean): Planned[] =>
  owners.map((o) => ({
    step: back
      ? `resume ${o.kind} ${o.namespace}/${o.name}: the value recorded before the pause put back exactly`
      : `pause ${o.kind} ${o.namespace}/${o.name} (recorded first)`,
    patch: {
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: { name: o.name, namespace: o.namespace },
      ...(back ? resumePatch(o) : pausePatch(o)),
    },
  }));

/**
 * Pauses them; the exact values it changes are recorded (`gitops-paused`) before the first patch. A resumed run
 * pauses again: with the recorded values, or, where an interrupted run put them back already, with values read anew.
 */
export function pausePhase<C extends GitopsCtx>(h: PauseHooks<C>, stateName: (ctx: C) => string): Phase<C, never> {
  return {
    title: 'Pause the GitOps controllers that would undo the stop',
    when: (ctx) => !!ctx.pauseOwners?.length || (!!h.rec(ctx).pausedOwners?.length && !h.rec(ctx).ownersResumedAt),
    step: (ctx, task) => pauseStep(h, stateName, ctx, task),
    plan: (ctx) => gitopsSteps(ctx.pauseOwners ?? [], false),
  };
}

async function pauseStep<C extends GitopsCtx>(
  h: PauseHooks<C>,
  stateName: (ctx: C) => string,
  ctx: C,
  task: StepTask,
): Promise<void> {
  const first = !h.rec(ctx).pausedOwners;
  if (first || h.rec(ctx).ownersResumedAt) {
    h.set(ctx, { pausedOwners: await priorsOf(ctx.cluster, ctx.pauseOwners ?? []), ownersResumedAt: undefined });
    await (first ? h.recordPaused(ctx) : h.save(ctx));
  }
  const paused = h.rec(ctx).pausedOwners ?? [];
  // Ctrl-C before anything stopped puts them back and records it (the lock is released after the other clean-ups;
  // should the write fail, a re-run pauses with the values recorded the first time); once the applications are down
  // they stay paused (the resumed run or the rollback resumes them).
  onInterrupt(async () => {
    if (h.appsDown(ctx)) return;
    await resumeOwners(ctx.cluster, paused);
    h.set(ctx, { ownersResumedAt: new Date().toISOString() });
    await h.save(ctx).catch(() => undefined);
  });
  await pauseOwners(ctx.cluster, paused);
  task.title = `Pause the GitOps controllers: ${paused.map(ownerKey).join(', ')} (recorded in ConfigMap ${stateName(ctx)}, to be put back as they were)`;
}

/** Puts them back exactly as they were, once the applications run the upgraded database (or rolled back: `when`), before `done` is recorded. */
export function resumePhase<C extends GitopsCtx>(
  h: PauseHooks<C>,
  when: (ctx: C) => boolean = h.done,
): Phase<C, never> {
  return {
    title: 'Resume the GitOps controllers as they were',
    // Only once the applications are back on the upgraded database: a run stopped for --no-patch-workload leaves them paused until its resumed run.
    when: (ctx) => when(ctx) && !!h.rec(ctx).pausedOwners?.length && !h.rec(ctx).ownersResumedAt,
    step: async (ctx) => {
      const done = await resumeOwners(ctx.cluster, h.rec(ctx).pausedOwners ?? []);
      h.set(ctx, { ownersResumedAt: new Date().toISOString() });
      await h.save(ctx);
      return done.join(', ') || 'none left to resume';
    },
    plan: (ctx) => gitopsSteps(ctx.pauseOwners ?? [], true),
  };
}

/** The resume as a task of its own (the rollbacks' task lists). */
export const createResumeTask = <C extends GitopsCtx>(h: PauseHooks<C>, when?: (ctx: C) => boolean): ListrTask<C> =>
  phaseTask(notRecorded<C>(), resumePhase(h, when));
