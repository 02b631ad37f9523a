import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { usageError } from '../../exit-codes.ts';
import { onInterrupt } from '../../interrupt.ts';
import type { Cluster } from '../../k8s/cluster.ts';
import { formatBytes } from '../../k8s/quantity.ts';
import { OWNED_LABELS } from '../../manifests/probe-pod.ts';
import { workloadWaits } from '../../preflight/evaluate.ts';
import {
  completeTimings,
  jobLogFacts,
  predictDowntime,
  type RehearsalRecord,
  type RehearsalTimings,
} from '../../postgres/rehearsal.ts';
import { saveRecord } from '../../state/store.ts';
import { refOf } from '../../postgres/workload.ts';
import { printReport, type Io } from '../../output.ts';
import { chooseRenderer, detectRendererEnv, type OutputFormat } from '../../renderer.ts';
import { waitPodsGone } from '../../steps/workload.ts';
import { skippedText, type SkippedExtension } from '../../postgres/extension-guard.ts';
import { createPlanTasks, type UpgradeCtx, type UpgradeOptions } from './tasks.ts';
import { createRehearseTasks, type Rehearsal, type RehearseCtx } from './rehearse.ts';

/** What `upgrade --rehearse -o json` prints. */
export interface RehearsalReport {
  workload: string;
  namespace: string;
  from: string;
  to: number;
  method: string;
  ok: boolean;
  failure: string | null;
  timingsMs: Partial<RehearsalTimings>;
  predictedDowntime: {
    seconds: number;
    parts: Array<{ part: string; ms: number }>;
    plusUpToSecondsIfAppsIgnoreSigterm: number;
  } | null;
  checkEstimate: { seconds: number; formula: string } | null;
  space: { usedOnCloneBytes: number | null; freeOnVolumeBytes: number | null };
  commentedOutSettings: string[];
  extensionUpdatesPending: boolean;
  /** The extension updates that the upgrade will skip as the rehearsal did: non-superusers can write their schemas. */
  extensionsSkipped: SkippedExtension[];
  jobLog: string;
}

/** Removes what the rehearsal made: the probes, the Job and its pod, the clone, and the snapshot unless kept. */
async function removeAll(
  cluster: Cluster,
  ns: string,
  r: Rehearsal,
  keepSnapshot: boolean,
  timeoutMs: number,
): Promise<void> {
  for (const p of r.probes) await p.dispose().catch(() => undefined);
  if (r.job) {
    await cluster.deleteObject({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: r.job });
    await waitPodsGone(cluster, ns, { 'job-name': r.job }, "the rehearsal Job's pod", timeoutMs).catch(() => undefined);
  }
  if (r.pvc)
    await cluster.deleteObject({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: r.pvc });
  if (r.snapshot && !keepSnapshot)
    await cluster.deleteObject({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      namespace: ns,
      name: r.snapshot,
    });
}

/** Keeps the outcome where `upgrade` looks before any downtime. */
async function storeRecord(c: UpgradeCtx, rec: RehearsalRecord): Promise<void> {
  const current = await c.cluster.readObject({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: c.d.namespace,
    name: c.names.rehearsal,
  });
  await saveRecord(
    c.cluster,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: c.names.rehearsal,
        namespace: c.d.namespace,
        labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'rehearsal' },
        annotations: { 'pgupgrade.kubectl.io/workload': `${c.d.workload.kind}/${c.d.workload.metadata.name}` },
      },
      data: { 'rehearsal.json': JSON.stringify(rec) },
    },
    "the rehearsal's outcome",
    current?.metadata.resourceVersion,
  );
}

/** `upgrade --rehearse`: the upgrade's plan, then the whole upgrade on a snapshot clone; production is only read. */
export async function runRehearse(
  ctx: CommandContext,
  opts: UpgradeOptions & { output: OutputFormat; keepSnapshot: boolean },
  io: Io,
): Promise<void> {
  const renderer = chooseRenderer(detectRendererEnv(ctx.flags));
  const listOpts = {
    renderer,
    fallbackRenderer: 'simple' as const,
    exitOnError: true,
    collectErrors: false as const,
    registerSignalListeners: false,
  };
  const c = {} as RehearseCtx;
  try {
    // The last rehearsal's failure holds back the upgrade, not another rehearsal.
    await new Listr<UpgradeCtx, typeof renderer, 'simple'>(
      createPlanTasks(() => ctx.cluster(), {
        ...opts,
        force: [...opts.force, 'rehearsal'],
        gitopsPaused: true,
        discardDumpRollback: true,
      }),
      listOpts,
    ).run(c);
  } finally {
    await c.probe?.dispose();
  }
  if (c.nothingToDo) throw usageError(`${c.nothingToDo}: there is nothing to rehearse`);
  if (c.resuming)
    throw usageError(
      `an upgrade of ${refOf(c.state!.workload)} is under way (last phase "${c.state?.phase}"): finish it or roll it back; nothing to rehearse`,
    );
  if (c.mode !== 'live' || c.bumped) {
    throw usageError(
      `${c.d.workload.kind} ${c.d.namespace}/${c.d.workload.metadata.name} is not running: a rehearsal clones the live volume. For a stopped ` +
        'database, check already runs pg_upgrade --check on its volume',
    );
  }
  const s = c.state!;
  const timeoutMs = opts.timeoutSeconds * 1000;
  c.rehearsal = { probes: [], timings: {} };
  const unregister = onInterrupt(() => removeAll(c.cluster, c.d.namespace, c.rehearsal, opts.keepSnapshot, 30_000));
  let error: unknown;
  try {
    await new Listr<RehearseCtx, typeof renderer, 'simple'>(createRehearseTasks(timeoutMs), listOpts).run(c);
  } catch (err) {
    error = err;
  } finally {
    await removeAll(c.cluster, c.d.namespace, c.rehearsal, opts.keepSnapshot, timeoutMs);
    unregister();
  }
  const r = c.rehearsal;
  const ok = error === undefined;
  // Only the rehearsal's own verdict is kept (set by its tasks): a Ctrl-C, or a cluster out of reach, says nothing
  // about the upgrade.
  if (ok || r.failure)
    await storeRecord(c, {
      to: s.to,
      method: s.method,
      ok,
      at: new Date().toISOString(),
      ...(ok ? {} : { failure: r.failure }),
    });
  const t = r.timings;
  const measured = completeTimings(t);
  const predicted = measured ? predictDowntime(measured, workloadWaits(c.d)) : undefined;
  const facts = jobLogFacts(r.jobLog ?? '');
  const report: RehearsalReport = {
    workload: `${s.workload.kind}/${s.workload.name}`,
    namespace: c.d.namespace,
    from: s.fromVersion,
    to: s.to,
    method: s.method,
    ok,
    failure: r.failure ?? (error ? ((error as Error).message.split('\n')[0] ?? null) : null),
    timingsMs: t,
    predictedDowntime: predicted
      ? {
          seconds: predicted.seconds,
          parts: predicted.parts.map(([part, ms]) => ({ part, ms })),
          plusUpToSecondsIfAppsIgnoreSigterm: predicted.graceBoundSeconds,
        }
      : null,
    checkEstimate: c.estimate ?? null,
    space: { usedOnCloneBytes: r.spaceUsedBytes ?? null, freeOnVolumeBytes: c.volume?.availBytes ?? null },
    commentedOutSettings: facts.commentedOut,
    extensionUpdatesPending: facts.updateExtensions,
    extensionsSkipped: r.extensionsSkipped ?? [],
    jobLog: r.jobLog ?? '',
  };
  await printReport(io, opts.output, report, (x) =>
    [
      `Rehearsal of ${x.workload} in ${x.namespace}: PostgreSQL ${x.from} → ${x.to} by pg_upgrade --${x.method} on a clone of the live volume: ` +
        `${x.ok ? 'it succeeded, and the data on the upgraded clone equals the clone before' : `FAILED: ${x.failure}`}. Production was only read.`,
      x.predictedDowntime
        ? `Predicted downtime of the upgrade: ${x.predictedDowntime.seconds} s (check's formula said ${x.checkEstimate?.seconds ?? '?'} s), ` +
          `plus up to ${x.predictedDowntime.plusUpToSecondsIfAppsIgnoreSigterm} s if the applications ignore SIGTERM:\n` +
          x.predictedDowntime.parts.map((p) => `  ${(p.ms / 1000).toFixed(1).padStart(6)} s  ${p.part}`).join('\n')
        : '',
      x.timingsMs.analyzeMs !== undefined
        ? `After the downtime (the applications back): extension updates ${((x.timingsMs.extensionsMs ?? 0) / 1000).toFixed(1)} s, ` +
          `statistics (vacuumdb --analyze-in-stages) ${(x.timingsMs.analyzeMs / 1000).toFixed(1)} s.`
        : '',
      x.space.usedOnCloneBytes !== null
        ? `Space used on the clone with both clusters: ${formatBytes(x.space.usedOnCloneBytes)}` +
          (x.space.freeOnVolumeBytes !== null
            ? `; free on the real volume now: ${formatBytes(x.space.freeOnVolumeBytes)}`
            : '')
        : '',
      x.commentedOutSettings.length
        ? `Settings the Job comments out (removed in ${x.to}): ${x.commentedOutSettings.join(', ')}`
        : '',
      x.extensionUpdatesPending
        ? 'pg_upgrade wrote update_extensions.sql: the upgrade runs it once the new server starts.'
        : '',
      ...x.extensionsSkipped.map((e) => `WARNING the upgrade will skip this as the rehearsal did: ${skippedText(e)}`),
      x.jobLog
        ? `The Job said:\n${x.jobLog
            .split('\n')
            .filter((l) => l.startsWith('pgupgrade:'))
            .map((l) => `  ${l}`)
            .join('\n')}`
        : '',
      r.snapshot && opts.keepSnapshot
        ? `The rehearsal's snapshot ${r.snapshot} is kept (--keep-snapshot); everything else it made is removed.`
        : 'Everything the rehearsal made is removed.',
    ]
      .filter(Boolean)
      .join('\n'),
  );
  if (error) throw error;
}
