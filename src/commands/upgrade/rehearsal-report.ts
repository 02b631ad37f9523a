import { formatBytes } from '../../k8s/quantity.ts';
import { workloadWaits } from '../../preflight/estimate.ts';
import { completeTimings, jobLogFacts, predictDowntime, type RehearsalTimings } from '../../postgres/rehearsal.ts';
import { skippedText, type SkippedExtension } from '../../postgres/extension-guard.ts';
import type { Rehearsal, RehearseCtx } from './rehearse.ts';

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

/** The report of a rehearsal: its timings, the downtime they predict, the space used and what the Job said. */
export function rehearsalReportOf(c: RehearseCtx, ok: boolean, error: unknown): RehearsalReport {
  const s = c.state!;
  const r = c.rehearsal;
  const t = r.timings;
  const measured = completeTimings(t);
  const predicted = measured ? predictDowntime(measured, workloadWaits(c.d)) : undefined;
  const facts = jobLogFacts(r.jobLog ?? '');
  return {
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
}

/** The text report of a rehearsal. */
export function rehearsalReportText(x: RehearsalReport, r: Rehearsal, keepSnapshot: boolean): string {
  return [
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
    r.snapshot && keepSnapshot
      ? `The rehearsal's snapshot ${r.snapshot} is kept (--keep-snapshot); everything else it made is removed.`
      : 'Everything the rehearsal made is removed.',
  ]
    .filter(Boolean)
    .join('\n');
}
