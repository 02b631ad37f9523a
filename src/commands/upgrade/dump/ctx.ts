import type { CheckCtx } from '../../../preflight/tasks.ts';
import { isInterrupted } from '../../../interrupt.ts';
import type { DumpTarget } from '../../../manifests/dump-target.ts';
import type { UpgradeLock } from '../../../state/lock.ts';
import type { ListrTask } from 'listr2';
import { phaseTask, type Phase, type Planned, type Recorder } from '../../../engine/phases.ts';
import { advanceDump, isDumpDone, saveDumpState, type DumpPhase, type DumpState } from '../../../state/dump-state.ts';
import type { Fingerprint } from '../../../postgres/fingerprint.ts';
import type { ExistingTarget } from './existing.ts';
import type { GitopsCtx, PauseHooks } from '../gitops.ts';
import type { ManagedObject } from '../../../postgres/gitops.ts';

/** What `upgrade --method dump` was asked to do. */
export interface DumpOptions {
  workload?: string;
  to: number;
  /** --target-image: the new instance's image (default: the source's repository at the new major). */
  targetImage?: string;
  /** --target: an existing, empty instance of `to` (its workload, or a Service that selects it) to load into. */
  target?: string;
  storageClass?: string;
  size?: string;
  jobs?: number;
  cutover: boolean;
  /** --full-verify: compare the whole content before the cutover, the applications still down. */
  fullVerify: boolean;
  appSelector: Record<string, string>;
  apps: string[];
  force: string[];
  /** --gitops-paused: the user paused the Argo CD/Flux controller that manages the workload or its applications. */
  gitopsPaused?: boolean;
  /** --pause-gitops: the plugin pauses the healing Argo CD/Flux objects itself, and resumes them at the end or on rollback. */
  pauseGitops?: boolean;
  timeoutSeconds: number;
  superuserSecret?: { name: string; key: string };
}

/** What the dump method's tasks share. */
export interface DumpCtx extends CheckCtx, GitopsCtx {
  stateName: string;
  state?: DumpState;
  stateVersion?: string;
  lock?: UpgradeLock;
  resuming: boolean;
  /** The new instance's objects, built from the source (also on a resumed run: the same spec gives the same objects). */
  target: DumpTarget;
  /** --target: the existing instance loaded into (its own discovery and password); absent when the plugin makes it. */
  existing?: ExistingTarget;
  /** The source's fingerprint, read once the applications are down (this run only: a resumed run reads it again). */
  before?: Fingerprint;
  fingerprintDiff?: string[];
  /** The new instance's fingerprint being read from a snapshot held before the cutover (this run only). */
  verifyReading?: Promise<Fingerprint>;
  /** How the content was verified, for the report. */
  verification?: string;
  /** The report's lines about the globals (md5 roles, the superuser kept): no password in them. */
  globalsNotes: string[];
  timings: Record<string, number>;
  /** The source's client sessions that no scaling stops, named at the plan (they are ended once the applications are down). */
  leftRunning?: string[];
  /** The Services the cutover changes, as read at the plan: their Argo CD/Flux owners are judged, and named in the change for Git. */
  cutoverServices?: ManagedObject[];
  warnings?: Array<{ id: string; found: string; fix?: string }>;
  nothingToDo?: string;
}

/** The password of the target's superuser: an existing target's own, else the source's (the new instance is given its Secret). */
export const targetPassword = (ctx: DumpCtx): string => ctx.existing?.password ?? ctx.password;

/** Records a phase as done. */
export async function recordDump(ctx: DumpCtx, p: DumpPhase): Promise<void> {
  ctx.state = advanceDump(ctx.state as DumpState, p);
  await recordState(ctx);
}

/** Writes the record as it is in ctx (a phase advanced, or a fact added). */
export async function recordState(ctx: DumpCtx): Promise<void> {
  ctx.lock?.assertHeld();
  ctx.stateVersion = await saveDumpState(
    ctx.cluster,
    ctx.d.namespace,
    ctx.stateName,
    ctx.state as DumpState,
    ctx.stateVersion,
  );
}

/** The record; set by the plan, so present in every apply task. */
export const dst = (ctx: DumpCtx): DumpState => ctx.state as DumpState;

/** How the dump record takes the engine's phases. */
export const DUMP_RECORD: Recorder<DumpCtx, DumpPhase> = {
  isDone: (ctx, p) => isDumpDone(ctx.state, p),
  record: recordDump,
  stopped: isInterrupted,
};

/** A phase of the upgrade by dump: its `recorded` is one of the record's phases. */
export type DumpStep = Phase<DumpCtx, DumpPhase>;

/** One recorded phase, timed: skipped when an earlier run did it, recorded when done; its note goes into the title. */
export function phase(
  p: DumpPhase,
  title: string,
  fn: (ctx: DumpCtx, report: (text: string) => void) => Promise<string | undefined | void>,
  plan?: (ctx: DumpCtx) => Planned[],
): DumpStep {
  return {
    title,
    recorded: p,
    step: async (ctx, task) => {
      const t = Date.now();
      const note = await fn(ctx, (text) => (task.output = text));
      ctx.timings[p] = Date.now() - t;
      return note;
    },
    ...(plan ? { plan } : {}),
  };
}

/** A recorded phase of the dump as a task of its own (the rollback's task list). */
export const phaseOfDump = (p: DumpStep): ListrTask<DumpCtx> => phaseTask(DUMP_RECORD, p);

/** How the dump record takes --pause-gitops. */
export const DUMP_PAUSE: PauseHooks<DumpCtx> = {
  rec: (ctx) => dst(ctx),
  set: (ctx, r) => (ctx.state = { ...dst(ctx), ...r }),
  recordPaused: (ctx) => recordDump(ctx, 'gitops-paused'),
  save: recordState,
  appsDown: (ctx) => isDumpDone(ctx.state, 'apps-down'),
  done: (ctx) => isDumpDone(ctx.state, 'source-down') && ctx.state?.phase !== 'rolled-back',
};
