import type { ListrTask } from 'listr2';
import { randomBytes } from 'node:crypto';
import type { Discovery } from '../../discovery/discover.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { fingerprintVia, shapeVia } from '../../fingerprint/read.ts';
import { onInterrupt } from '../../interrupt.ts';
import { formatBytes } from '../../k8s/quantity.ts';
import { buildUpgradeJob } from '../../manifests/upgrade-job.ts';
import { buildRestorePvc, derivedName } from '../../manifests/snapshot.ts';
import { compareFingerprints, type Fingerprint } from '../../postgres/fingerprint.ts';
import { jobLogFacts, type RehearsalTimings } from '../../postgres/rehearsal.ts';
import { withHeartbeat } from '../../postgres/heartbeat.ts';
import { execSilenceMs } from '../../k8s/silence.ts';
import { POST_UPGRADE_LOCAL_SCRIPT } from '../../postgres/probe-scripts.ts';
import { GUARDED_UPDATE_SQL, parseSkipped, type SkippedExtension } from '../../postgres/extension-guard.ts';
import { upgradePaths } from '../../postgres/upgrade-script.ts';
import { startProbe, startServer, stopServer, type Probe } from '../../probe/probe.ts';
import { checkpoint, gatherVolume, liveReach } from '../../server/gather.ts';
import { runJob } from '../../steps/job.ts';
import { createSnapshot, upgradeSnapshotClass, waitSnapshot } from '../../volume-snapshots/take.ts';
import { st, type UpgradeCtx } from './ctx.ts';

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

const clock = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = Date.now();
  const v = await fn();
  return [v, Date.now() - t];
};

/** The rehearsal Job's name: the upgrade Job's, cut so that the whole hash stays, with `-rehearse`. */
export const rehearsalJobName = (job: string): string => `${job.slice(0, 52)}-rehearse`;

/**
 * The rehearsal, after the upgrade's own plan: a snapshot of the live volume (after a CHECKPOINT), restored to a
 * scratch PVC; the old major started on it (crash recovery), fingerprinted and stopped cleanly; the very Job that
 * the upgrade would run, pointed at the clone; the new major started there and compared. Production is only read.
 */
export function createRehearseTasks(timeoutMs: number): Array<ListrTask<RehearseCtx>> {
  return [
    {
      title: 'Snapshot the live volume (a CHECKPOINT first, so that crash recovery on the clone is short)',
      task: async (ctx, task) => {
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
      },
    },
    {
      title: 'Restore it to a scratch PVC, start the old major there, fingerprint it and stop it cleanly',
      task: async (ctx, task) => {
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
      },
    },
    {
      title: "Run the upgrade Job on the clone: the same spec, script and method as the upgrade's",
      task: async (ctx, task) => {
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
      },
      rendererOptions: { persistentOutput: false, outputBar: 6 } as never,
    },
    {
      title: 'Start the new major on the clone, with the image the workload would get, and compare',
      task: async (ctx, task) => {
        const s = st(ctx);
        const r = ctx.rehearsal;
        const d: Discovery = { ...ctx.d, pgdata: ctx.job.pgdata, mountPath: ctx.job.mountPath };
        const [probe, podMs] = await clock(() =>
          startProbe(ctx.cluster, d, s.targetImage || s.jobImage, {
            claim: r.pvc,
            role: 'rehearsal-new',
            purpose: 'the rehearsal: the new major on the clone',
          }),
        );
        r.probes.push(probe);
        r.timings.newPodStartMs = podMs;
        const [err, startMs] = await clock(() => startServer(ctx.cluster, d, probe, false));
        if (err) {
          r.failure = `PostgreSQL ${s.to} did not start on the upgraded clone`;
          throw new CliError(
            `PostgreSQL ${s.to} did not start on the upgraded clone (${s.targetImage || s.jobImage}): ${err}`,
            ExitCode.blocking,
          );
        }
        r.timings.newServerStartMs = startMs;
        const reach = { ...probe, socketDir: '/tmp' };
        [, r.timings.shapeReadMs] = await clock(() => shapeVia(ctx.cluster, d, reach, ''));
        r.diff = compareFingerprints(r.before as Fingerprint, await fingerprintVia(ctx.cluster, d, reach, ''), {
          extensionUpdates: true,
        });
        r.spaceUsedBytes = (await gatherVolume(ctx.cluster, d, probe, d.pgdata)).parentBytes;
        if (r.diff.length) {
          r.failure = `the data differs after the upgrade: ${r.diff.slice(0, 3).join('; ')}`;
          throw new CliError(
            `the rehearsal's upgraded clone differs from the clone before it:\n  ${r.diff.join('\n  ')}`,
            ExitCode.blocking,
          );
        }
        // The steps after the downtime, timed: the extension updates pg_upgrade asks for, and the statistics.
        const post = await ctx.cluster.exec(d.namespace, probe.pod, probe.container, [
          'sh',
          '-c',
          withHeartbeat(POST_UPGRADE_LOCAL_SCRIPT, execSilenceMs()),
          'sh',
          upgradePaths(ctx.job.pgdata, s.from, s.to).work,
          ctx.job.installUser,
          String(s.to),
          GUARDED_UPDATE_SQL,
        ]);
        if (post.exitCode !== 0) {
          r.failure = `${post.exitCode === 21 ? 'update_extensions.sql' : 'the statistics (vacuumdb)'} failed on the upgraded clone`;
          throw new CliError(
            `${r.failure}: ${post.stderr.trim().split('\n').slice(-10).join(' | ')}`,
            ExitCode.blocking,
          );
        }
        r.extensionsSkipped = parseSkipped(post.stdout);
        r.timings.extensionsMs = Number(/extensions (\d+)/.exec(post.stdout)?.[1] ?? 0);
        r.timings.analyzeMs = Number(/analyze (\d+)/.exec(post.stdout)?.[1] ?? 0);
        await stopServer(ctx.cluster, d, probe);
        task.title =
          `Start PostgreSQL ${s.to} on the clone: up in ${(startMs / 1000).toFixed(1)} s, the data equal; ${formatBytes(r.spaceUsedBytes)} used with both clusters; ` +
          `after the downtime: extension updates ${((r.timings.extensionsMs ?? 0) / 1000).toFixed(1)} s, statistics ${((r.timings.analyzeMs ?? 0) / 1000).toFixed(1)} s`;
      },
    },
  ];
}
