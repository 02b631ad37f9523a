import type { ListrTask } from 'listr2';
import { notRecorded, phaseTasks, type Phase } from '../../engine/phases.ts';
import { randomBytes } from 'node:crypto';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { fingerprintVia } from '../../fingerprint/read.ts';
import { onInterrupt } from '../../interrupt.ts';
import { buildUpgradeJob } from '../../manifests/upgrade-job.ts';
import { buildRestorePvc, derivedName } from '../../manifests/snapshot.ts';
import type { Fingerprint } from '../../postgres/fingerprint.ts';
import { jobLogFacts, type RehearsalTimings } from '../../postgres/rehearsal.ts';
import type { SkippedExtension } from '../../postgres/extension-guard.ts';
import { startProbe, startServer, stopServer, type Probe } from '../../probe/probe.ts';
import { checkpoint } from '../../server/gather.ts';
import { liveReach } from '../../server/reach.ts';
import { runJob } from '../../steps/job.ts';
import { createSnapshot, upgradeSnapshotClass, waitSnapshot } from '../../volume-snapshots/take.ts';
import { clock, st, type UpgradeCtx } from './ctx.ts';
import { startNewAndCompare } from './rehearse-compare.ts';

/** What a rehearsal made (to remove at its end) and found. */
export interface Rehearsal {
  snapshot?: string;
  pvc?: string;
  job?: string;
  probes: Probe[];
  before?: Fingerprint;
  diff?: string[];
  timings: Partial<RehearsalTimings>;
  jobLog?: string;
  /** Bytes under the data's parent directory on the clone once both clusters are there. */
  spaceUsedBytes?: number;
  /** The extension updates that the upgrade will skip too: non-superusers can write their schemas. */
  extensionsSkipped?: SkippedExtension[];
  failure?: string;
}

export type RehearseCtx = UpgradeCtx & { rehearsal: Rehearsal };

/** The rehearsal Job's name: the upgrade Job's, cut so that the whole hash stays, with `-rehearse`. */
export const rehearsalJobName = (job: string): string => `${job.slice(0, 52)}-rehearse`;

/**
 * The rehearsal, after the upgrade's own plan: a snapshot of the live volume (after a CHECKPOINT), restored to a
 * scratch PVC; the old major started on it (crash recovery), fingerprinted and stopped cleanly; the very Job that
 * the upgrade would run, pointed at the clone; the new major started there and compared. Production is only read.
 */
export function rehearsePhases(timeoutMs: number): Array<Phase<RehearseCtx, never>> {
  return [
    {
      title: 'Snapshot the live volume (a CHECKPOINT first, so that crash recovery on the clone is short)',
      step: (ctx, task) => snapshotLiveVolume(ctx, task, timeoutMs),
    },
    {
      title: 'Restore it to a scratch PVC, start the old major there, fingerprint it and stop it cleanly',
      step: (ctx, task) => restoreAndFingerprintOld(ctx, task),
    },
    {
      title: "Run the upgrade Job on the clone: the same spec, script and method as the upgrade's",
      step: (ctx, task) => runJobOnClone(ctx, task, timeoutMs),
      rendererOptions: { persistentOutput: false, outputBar: 6 },
    },
    {
      title: 'Start the new major on the clone, with the image the workload would get, and compare',
      step: (ctx, task) => startNewAndCompare(ctx, task),
    },
  ];
}

/** The rehearsal's phases as tasks: none is recorded (production is only read; what it made is removed at its end). */
export const createRehearseTasks = (timeoutMs: number): Array<ListrTask<RehearseCtx>> =>
  phaseTasks(notRecorded<RehearseCtx>(), rehearsePhases(timeoutMs));

/** A CHECKPOINT, then a snapshot of the live volume with the upgrade's class; timed to its cut, waited ready. */
async function snapshotLiveVolume(ctx: RehearseCtx, task: { title: string }, timeoutMs: number): Promise<void> {
  const s = st(ctx);
  await checkpoint(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
  // The class the upgrade itself would use.
  const cls = await upgradeSnapshotClass(ctx.cluster, ctx.d.csiDriver);
  if (!cls)
    throw new CliError(
      `no VolumeSnapshotClass for the PVC's driver ${ctx.d.csiDriver}: a rehearsal works on a snapshot clone`,
      ExitCode.failed,
    );
  const [snap, cutMs] = await clock(async () => {
    const o = await createSnapshot(ctx.cluster, {
      namespace: ctx.d.namespace,
      workloadKind: s.workload.kind,
      workloadName: s.workload.name,
      pvc: ctx.d.pvc.metadata.name,
      className: cls,
      pgVersion: s.fromVersion,
      pgMajor: s.from,
      takenAt: new Date(),
      consistency: 'crash-consistent',
      reason: `rehearsal of the upgrade to ${s.to}`,
      role: 'rehearsal',
    });
    ctx.rehearsal.snapshot = o.metadata.name;
    return waitSnapshot(ctx.cluster, ctx.d.namespace, o.metadata.name, 'cut', timeoutMs);
  });
  ctx.rehearsal.timings.snapshotCutMs = cutMs;
  await waitSnapshot(ctx.cluster, ctx.d.namespace, snap.name, 'ready', timeoutMs);
  task.title = `Snapshot the live volume: ${snap.name}, cut in ${(cutMs / 1000).toFixed(1)} s`;
}

/** The snapshot restored to a scratch PVC; the old major started there (crash recovery), fingerprinted, stopped. */
async function restoreAndFingerprintOld(ctx: RehearseCtx, task: { title: string }): Promise<void> {
  const s = st(ctx);
  const r = ctx.rehearsal;
  const pvc = derivedName(r.snapshot as string, `rehearsal-${randomBytes(3).toString('hex')}`);
  r.pvc = pvc;
  const removeEarly = onInterrupt(async () =>
    ctx.cluster.deleteObject({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      namespace: ctx.d.namespace,
      name: pvc,
    }),
  );
  await ctx.cluster.createObject(
    buildRestorePvc({
      name: pvc,
      namespace: ctx.d.namespace,
      snapshot: r.snapshot as string,
      storageClassName: ctx.d.pvc.storageClassName,
      bytes: Math.max(ctx.d.pvc.capacityBytes ?? 0, 1 << 20),
      role: 'rehearsal',
      why: `the rehearsal of the upgrade to ${s.to}: a clone of the live volume; deleted at its end`,
    }),
  );
  removeEarly();
  const probe = await startProbe(ctx.cluster, ctx.d, s.oldImage, {
    claim: pvc,
    role: 'rehearsal-old',
    purpose: 'the rehearsal: the old major on the clone',
  });
  r.probes.push(probe);
  const err = await startServer(ctx.cluster, ctx.d, probe, true);
  if (err) throw new CliError(`PostgreSQL ${s.from} did not start on the clone: ${err}`, ExitCode.failed);
  r.before = await fingerprintVia(ctx.cluster, ctx.d, { ...probe, socketDir: '/tmp' }, '');
  [, r.timings.oldStopMs] = await clock(() => stopServer(ctx.cluster, ctx.d, probe));
  await probe.dispose();
  task.title = `Restore it to scratch PVC ${pvc}: PostgreSQL ${s.from} recovered, fingerprinted, and stopped in ${((r.timings.oldStopMs ?? 0) / 1000).toFixed(1)} s`;
}

/** The upgrade Job itself, on the clone; its timings kept, a failure blocks the upgrade. */
async function runJobOnClone(
  ctx: RehearseCtx,
  task: { title: string; output: string },
  timeoutMs: number,
): Promise<void> {
  const r = ctx.rehearsal;
  const job = buildUpgradeJob({ ...ctx.job, name: rehearsalJobName(ctx.job.name), claim: r.pvc as string });
  r.job = job.metadata.name;
  const [out, ms] = await clock(() =>
    runJob(ctx.cluster, ctx.d.namespace, job, (t) => (task.output = t.trimEnd()), timeoutMs),
  );
  r.jobLog = out.log;
  r.timings.jobPodStartMs = out.startMs;
  r.timings.jobRunMs = ms - out.startMs;
  const facts = jobLogFacts(out.log);
  if (facts.pgUpgradeMs !== undefined) r.timings.pgUpgradeMs = facts.pgUpgradeMs;
  if (!out.ok) {
    r.failure = `the upgrade Job failed (${out.reason ?? 'see its log'})`;
    throw new CliError(
      `the rehearsal's upgrade Job failed on the clone (${out.reason ?? 'see its log'}); production was not touched. Its log:\n` +
        out.log.split('\n').slice(-40).join('\n'),
      ExitCode.blocking,
    );
  }
  task.title = `Run the upgrade Job on the clone: done in ${(ms / 1000).toFixed(1)} s (pg_upgrade ${((facts.pgUpgradeMs ?? 0) / 1000).toFixed(1)} s)`;
}
