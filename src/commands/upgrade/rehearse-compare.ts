import type { Discovery } from '../../discovery/discover.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { fingerprintVia, shapeVia } from '../../fingerprint/read.ts';
import { formatBytes } from '../../k8s/quantity.ts';
import { compareFingerprints, type Fingerprint } from '../../postgres/fingerprint.ts';
import { withHeartbeat } from '../../postgres/heartbeat.ts';
import { execSilenceMs } from '../../k8s/silence.ts';
import { POST_UPGRADE_LOCAL_SCRIPT } from '../../postgres/probe-scripts.ts';
import { GUARDED_UPDATE_SQL, parseSkipped } from '../../postgres/extension-guard.ts';
import { upgradePaths } from '../../postgres/upgrade-script.ts';
import { startProbe, startServer, stopServer, type Probe } from '../../probe/probe.ts';
import { gatherVolume } from '../../server/gather.ts';
import { clock, st } from './ctx.ts';
import type { RehearseCtx } from './rehearse.ts';

/** The new major started on the clone and the data compared; then the steps after the downtime, timed. */
export async function startNewAndCompare(ctx: RehearseCtx, task: { title: string }): Promise<void> {
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
  await timeStepsAfterDowntime(ctx, d, probe);
  await stopServer(ctx.cluster, d, probe);
  task.title =
    `Start PostgreSQL ${s.to} on the clone: up in ${(startMs / 1000).toFixed(1)} s, the data equal; ${formatBytes(r.spaceUsedBytes)} used with both clusters; ` +
    `after the downtime: extension updates ${((r.timings.extensionsMs ?? 0) / 1000).toFixed(1)} s, statistics ${((r.timings.analyzeMs ?? 0) / 1000).toFixed(1)} s`;
}

/** The steps after the downtime, timed: the extension updates pg_upgrade asks for, and the statistics. */
async function timeStepsAfterDowntime(ctx: RehearseCtx, d: Discovery, probe: Probe): Promise<void> {
  const s = st(ctx);
  const r = ctx.rehearsal;
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
    throw new CliError(`${r.failure}: ${post.stderr.trim().split('\n').slice(-10).join(' | ')}`, ExitCode.blocking);
  }
  r.extensionsSkipped = parseSkipped(post.stdout);
  r.timings.extensionsMs = Number(/extensions (\d+)/.exec(post.stdout)?.[1] ?? 0);
  r.timings.analyzeMs = Number(/analyze (\d+)/.exec(post.stdout)?.[1] ?? 0);
}
