import type { ListrTask } from 'listr2';
import { isInterrupted } from '../../interrupt.ts';
import { phasePlan, phaseTasks, type Planned, type Recorder } from '../../engine/phases.ts';
import { isDone, type Phase as InPlacePhase } from '../../state/state.ts';
import { IN_PLACE_PAUSE, record, type InPlaceStep, type UpgradeCtx, type UpgradeOptions } from './ctx.ts';
import { configMapStep } from './planned.ts';

import { quiescePhases } from './quiesce.ts';
import { startPhases } from './start.ts';
import { stopPhases } from './stop-tasks.ts';
import { jobPhase } from './job-task.ts';
import { verifyPhases } from './verify.ts';
import { pausePhase, resumePhase } from './gitops.ts';

/** How the in-place record takes the engine's phases. */
export const IN_PLACE_RECORD: Recorder<UpgradeCtx, InPlacePhase> = {
  isDone: (ctx, p) => isDone(ctx.state, p),
  record,
  stopped: isInterrupted,
};

/** The upgrade in place as a table of phases: the applications down, the database stopped, the Job, the new server, verified. */
export function inPlacePhases(opts: UpgradeOptions): Array<InPlaceStep> {
  const timeout = opts.timeoutSeconds * 1000;
  return [
    pausePhase(IN_PLACE_PAUSE, (ctx) => ctx.names.state),
    ...quiescePhases(opts, timeout),
    ...stopPhases(opts, timeout),
    jobPhase(timeout, opts),
    ...startPhases(opts, timeout),
    ...verifyPhases(opts, timeout, [resumePhase(IN_PLACE_PAUSE)]),
  ];
}

/** The phases that change the cluster, each recorded; a resumed run skips what is done. */
export function createApplyTasks(opts: UpgradeOptions): Array<ListrTask<UpgradeCtx>> {
  return phaseTasks(IN_PLACE_RECORD, inPlacePhases(opts));
}

/** Every object and patch the upgrade will apply, in order, for --dry-run: the record, then the table's plan. */
export function plannedObjects(ctx: UpgradeCtx, opts: UpgradeOptions): Planned[] {
  return [
    configMapStep(ctx.d.namespace, ctx.names.state, 'record of the upgrade, updated after each phase'),
    ...phasePlan(inPlacePhases(opts), ctx),
  ];
}
