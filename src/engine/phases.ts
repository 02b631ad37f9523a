// The phase engine. A method is a table of phases; the same table gives the run (listr tasks: a phase that an
// earlier run recorded as done is skipped, the others recorded as their step returns) and the dry run (what each
// phase will create or change, in order), so that the two cannot drift. In place, by dump and the rehearsal are
// tables; a new method is a new table.
import type { ListrTask } from 'listr2';

/** One entry of the dry run: what is done, and the object it creates, the patch it applies or the SQL it runs. */
export interface Planned {
  step: string;
  object?: object;
  patch?: object;
  sql?: string;
}

/** What a step may say while it runs: its title (replaced as it learns) and its live output. */
export interface StepTask {
  title: string;
  output: string;
}

/** A phase of a method whose record names its phases `K` (the compiler checks every `recorded`). */
export interface Phase<C, K extends string = string> {
  /** Short and verb-first; a step's note (its return value) is added after a colon. */
  title: string;
  /**
   * The record's name of the phase: when the record says it is done, the phase is skipped (a resumed run goes on
   * after it). Absent: the phase is not recorded and runs again on a resumed run (it is idempotent).
   */
  recorded?: K;
  /**
   * Who writes the record: 'after' the step returned (the default), or the 'step' itself, which records at its own
   * points (a phase that must be recorded before what it names begins, as a rollback must know it may have begun).
   */
  records?: 'after' | 'step';
  /** Whether the phase belongs to this run at all (judged when the run gets to it). */
  when?: (ctx: C) => boolean;
  /** A reason to skip it besides a recorded done (a flag that leaves it out, named in the task list). */
  skip?: (ctx: C) => string | false;
  /** The phase's work: a named function of its own. Its note, if any, goes into the title. */
  step: (ctx: C, task: StepTask) => Promise<string | undefined | void>;
  /** What the dry run lists for this phase, from the plan's facts (empty: it creates and changes nothing). */
  plan?: (ctx: C) => Planned[];
  /** listr2's renderer options for the task (a Job's log lines, for example). */
  rendererOptions?: ListrTask<C>['rendererOptions'];
}

/** How a method's record takes its phases. */
export interface Recorder<C, K extends string = string> {
  isDone(ctx: C, phase: K): boolean;
  record(ctx: C, phase: K): Promise<void>;
  /** True once the run is to stop (Ctrl-C): no phase starts after it, and none is recorded. */
  stopped?(): boolean;
}

/** Why a phase is skipped, if it is: its own reason first, then a done recorded by an earlier run. */
export function skipReason<C, K extends string>(rec: Recorder<C, K>, p: Phase<C, K>, ctx: C): string | false {
  const own = p.skip?.(ctx);
  if (own) return own;
  return p.recorded !== undefined && rec.isDone(ctx, p.recorded) ? 'done in an earlier run' : false;
}

/** Runs one phase's step, then records it (unless its step records itself), then puts its note into the title. */
export async function runPhase<C, K extends string>(
  rec: Recorder<C, K>,
  p: Phase<C, K>,
  ctx: C,
  task: StepTask,
): Promise<void> {
  // After Ctrl-C no phase starts and none is recorded: the lock is held until the clean-ups have written the record.
  if (rec.stopped?.()) throw new Error('interrupted');
  const note = await p.step(ctx, task);
  if (rec.stopped?.()) throw new Error('interrupted');
  if (p.recorded !== undefined && p.records !== 'step') await rec.record(ctx, p.recorded);
  if (note) task.title = `${p.title}: ${note}`;
}

/** One phase as a listr task. */
export function phaseTask<C, K extends string>(rec: Recorder<C, K>, p: Phase<C, K>): ListrTask<C> {
  return {
    title: p.title,
    ...(p.when ? { enabled: p.when } : {}),
    skip: (ctx: C) => skipReason(rec, p, ctx),
    task: (ctx: C, task: StepTask) => runPhase(rec, p, ctx, task),
    ...(p.rendererOptions ? { rendererOptions: p.rendererOptions } : {}),
  };
}

/** The run: one listr task per phase, in the table's order. */
export function phaseTasks<C, K extends string>(rec: Recorder<C, K>, table: Array<Phase<C, K>>): Array<ListrTask<C>> {
  return table.map((p) => phaseTask(rec, p));
}

/** The recorder of a table whose phases are not recorded (the rehearsal's; a single unrecorded phase): K is never. */
export const notRecorded = <C>(): Recorder<C, never> => ({
  isDone: () => false,
  record: async () => {
    throw new Error('this table has no record to be written in');
  },
});

/**
 * The dry run: every phase's plan, in the table's order. Each phase's plan says from the plan's facts what it will
 * make (a phase that a flag leaves out plans nothing), whatever `when` judges later in the run.
 */
export function phasePlan<C, K extends string>(table: Array<Phase<C, K>>, ctx: C): Planned[] {
  return table.flatMap((p) => p.plan?.(ctx) ?? []);
}

/** A table's recorded phases in order, for the record's own list of phases to be checked against. */
export const recordedPhases = <C, K extends string>(table: Array<Phase<C, K>>): K[] =>
  table.flatMap((p) => (p.recorded === undefined ? [] : [p.recorded]));
