import type { UpgradeJobSpec } from '../../manifests/upgrade-job.ts';
import type { UpgradeLock } from '../../state/lock.ts';
import { referenceFromSnapshot, type Reference } from '../../state/reference.ts';
import { saveState } from '../../state/store.ts';
import { advance, type InPlaceMethod, type Phase, type UpgradeState, type upgradeNames } from '../../state/state.ts';
import type { CheckCtx } from '../../preflight/tasks.ts';

/** What `upgrade` was asked to do. */
export interface UpgradeOptions {
  workload?: string;
  to: number;
  method: InPlaceMethod;
  image?: string;
  jobImage?: string;
  appSelector: Record<string, string>;
  force: string[];
  snapshot: boolean;
  waitSnapshotReady: boolean;
  patchWorkload: boolean;
  timeoutSeconds: number;
  /** Start the applications once a REPEATABLE READ snapshot of the data is held, and compare while they start. */
  verifyWhileAppsStart: boolean;
  /** --superuser-secret: where the superuser's password is, when the pod spec does not say. */
  superuserSecret?: { name: string; key: string };
}

/** The stored Job spec travels in the state, so that a resumed run makes the very same Job. */
export interface UpgradeCtx extends CheckCtx {
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
  /** Per database: tables, and rows before and after, for the report. */
  perDatabase?: Array<{ database: string; tables: number; rowsBefore: number; rowsAfter: number }>;
  totals?: { databases: number; tables: number; rows: number };
  jobLog?: string;
  stoppedForManualPatch?: boolean;
  /** check's warnings, each shown with its fix before the user confirms. */
  warnings?: Array<{ id: string; found: string; fix?: string }>;
  /** check's downtime estimate, shown before the user confirms. */
  estimate?: { seconds: number; formula: string };
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
  ctx.stateVersion = await saveState(ctx.cluster, ctx.d.namespace, ctx.names.state, ctx.state as UpgradeState, ctx.stateVersion);
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
  ctx.reference = referenceFromSnapshot(ctx.cluster, ctx.d, st(ctx), ctx.names.fingerprint, timeoutMs)
    .catch((e: Error) => new Error(`reading the reference fingerprint from snapshot ${st(ctx).snapshot} failed: ${e.message}`));
}

