import type { Relayout } from '../../postgres/relayout.ts';
import type { UpgradeJobSpec } from '../../manifests/upgrade-job.ts';
import type { UpgradeLock } from '../../state/lock.ts';
import { referenceFromSnapshot, type Reference } from '../../state/reference.ts';
import { saveState } from '../../state/store.ts';
import {
  advance,
  isDone,
  type InPlaceMethod,
  type Phase,
  type UpgradeState,
  type upgradeNames,
} from '../../state/state.ts';
import type { Shape } from '../../postgres/shape.ts';
import type { Incompatible } from '../../postgres/workload.ts';
import type { CheckCtx } from '../../preflight/tasks.ts';
import type { Discovery } from '../../discovery/discover.ts';
import type { PausedOwner } from '../../postgres/gitops-pause.ts';
import type { PauseHooks } from './gitops.ts';
import type { Phase as EnginePhase } from '../../engine/phases.ts';
import type { SkippedExtension } from '../../postgres/extension-guard.ts';

/** A phase of the upgrade in place: its `recorded` is one of the record's phases. */
export type InPlaceStep = EnginePhase<UpgradeCtx, Phase>;

/** What `upgrade` was asked to do. */
export interface UpgradeOptions {
  workload?: string;
  to: number;
  method: InPlaceMethod;
  image?: string;
  jobImage?: string;
  appSelector: Record<string, string>;
  /** Application workloads named with --app, scaled down with those the selector matches. */
  apps: string[];
  force: string[];
  /** --gitops-paused: the user paused the Argo CD/Flux controller that manages the workload or its applications. */
  gitopsPaused?: boolean;
  /** --pause-gitops: the plugin pauses the healing Argo CD/Flux objects itself, and resumes them at the end or on rollback. */
  pauseGitops?: boolean;
  /** --discard-dump-rollback: upgrade in place the old instance that a done upgrade by dump keeps as its way back. */
  discardDumpRollback?: boolean;
  snapshot: boolean;
  waitSnapshotReady: boolean;
  patchWorkload: boolean;
  timeoutSeconds: number;
  /**
   * Compare the whole content before the applications return. By default they return once the shape (every
   * relation and its size, src/postgres/shape.ts) is equal and a REPEATABLE READ snapshot is held, and the
   * content is compared while they start.
   */
  fullVerify: boolean;
  /** --superuser-secret: where the superuser's password is, when the pod spec does not say. */
  superuserSecret?: { name: string; key: string };
}

/** The stored Job spec travels in the state, so that a resumed run makes the very same Job. */
export interface UpgradeCtx extends CheckCtx {
  /** In place: the data is on a PVC at PGDATA (discover refuses a workload without one). */
  d: Discovery;
  names: ReturnType<typeof upgradeNames>;
  state?: UpgradeState;
  /** The record's resourceVersion as last read or written: every write is made over it (undefined: none yet). */
  stateVersion?: string;
  /** Held from before the first change to the end of the run. */
  lock?: UpgradeLock;
  /** True when a recorded, unfinished upgrade is being resumed. */
  resuming: boolean;
  job: UpgradeJobSpec;
  /** The reference fingerprint, read from the snapshot while the Job runs (an Error when that failed). */
  reference?: Promise<Reference | Error>;
  /** Milliseconds per phase, and finer parts (db-shutdown, volume-detach, job-start, pg_upgrade), and downtime. */
  timings: Record<string, number>;
  fingerprintDiff?: string[];
  /** The shape read on the old server once nothing wrote (this run only: a resumed run compares in full). */
  shapeBefore?: Shape;
  /** The shape read on the new server at its start, before the applications returned. */
  shapeAfter?: Shape;
  /** How the data was verified, for the report. */
  verification?: string;
  /** The extension updates that update_extensions.sql asked for and that were skipped: their schemas are not safe. */
  extensionsSkipped?: SkippedExtension[];
  /** Per database: tables, and rows before and after, for the report. */
  perDatabase?: Array<{ database: string; tables: number; rowsBefore: number; rowsAfter: number }>;
  totals?: { databases: number; tables: number; rows: number };
  jobLog?: string;
  stoppedForManualPatch?: boolean;
  /** Pods connected to the database now that neither the selector nor --app stops: they keep running. */
  leftRunning?: string[];
  /** check's warnings, each shown with its fix before the user confirms. */
  warnings?: Array<{ id: string; found: string; fix?: string }>;
  /** check's downtime estimate, shown before the user confirms. */
  estimate?: { seconds: number; formula: string };
  /** The pod crash-loops: its image runs a newer major than the data (and the replicas it had). */
  bumped?: Incompatible & { replicas: number };
  /** PGDATA is its volume's root: what the upgrade changes of the layout (relayout.ts). */
  relayout?: Relayout;
  /** Set once that crash-looping database was stopped, after the user confirmed. */
  bumpedStopped?: boolean;
  /** --pause-gitops: the Argo CD/Flux objects that heal what the upgrade stops, to pause (found by the plan). */
  pauseOwners?: PausedOwner[];
  /** Set when the recorded upgrade to this target is done and the workload runs it: exit 0, say so. */
  nothingToDo?: string;
}

/** Records a phase as done in the state ConfigMap. */
export async function record(ctx: UpgradeCtx, p: Phase): Promise<void> {
  ctx.state = advance(ctx.state as UpgradeState, p);
  await writeState(ctx);
}

/** Writes the record, only while this run holds the lock and over the version it last saw. */
export async function writeState(ctx: UpgradeCtx): Promise<void> {
  ctx.lock?.assertHeld();
  ctx.stateVersion = await saveState(
    ctx.cluster,
    ctx.d.namespace,
    ctx.names.state,
    ctx.state as UpgradeState,
    ctx.stateVersion,
  );
}

/** Times a phase. */
export async function timed<T>(ctx: UpgradeCtx, p: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    ctx.timings[p] = (ctx.timings[p] ?? 0) + (Date.now() - t);
  }
}

/** The recorded state; set by the plan, so present in every apply task. */
export const st = (ctx: UpgradeCtx): UpgradeState => ctx.state as UpgradeState;

/**
 * Reads the reference from the snapshot in the background (the Job runs meanwhile); a failure is kept as an Error
 * for the verify step to report, never an unhandled rejection.
 */
export function startReference(ctx: UpgradeCtx, timeoutMs: number): void {
  if (ctx.reference || !st(ctx).snapshot) return;
  ctx.reference = referenceFromSnapshot(ctx.cluster, ctx.d, st(ctx), ctx.names.fingerprint, timeoutMs).catch(
    (e: Error) => new Error(`reading the reference fingerprint from snapshot ${st(ctx).snapshot} failed: ${e.message}`),
  );
}

/** How the in-place record takes --pause-gitops. */
export const IN_PLACE_PAUSE: PauseHooks<UpgradeCtx> = {
  rec: (ctx) => st(ctx),
  set: (ctx, r) => (ctx.state = { ...st(ctx), ...r }),
  recordPaused: (ctx) => record(ctx, 'gitops-paused'),
  save: writeState,
  appsDown: (ctx) => isDone(ctx.state, 'apps-down'),
  done: (ctx) => isDone(ctx.state, 'apps-up'),
};

/** The skip reason of a phase that an earlier run recorded as done. */
export const done = (ctx: UpgradeCtx, p: Parameters<typeof isDone>[1]) =>
  isDone(ctx.state, p) && 'done in an earlier run';

/** What fn returns, and how many milliseconds it took. */
export const clock = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = Date.now();
  const v = await fn();
  return [v, Date.now() - t];
};
