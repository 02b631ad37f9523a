import type { Method } from './versions.ts';

/** What the workloads add to the downtime: their stop and start waits, from their own specs. */
export interface WorkloadWaits {
  /** The longest terminationGracePeriodSeconds among the applications: what one that ignores SIGTERM costs. */
  appGraceSeconds: number;
  /** The database's and the applications' readiness probes: initialDelaySeconds + periodSeconds, summed. */
  readinessSeconds: number;
}

/**
 * The downtime estimate: its seconds and the formula that gave them. The fixed part (5 s) is the plugin's own
 * overhead as measured (bench/downtime.ts); pg_upgrade costs about 4 ms per relation; copy and dump move the data.
 */
export function estimateDowntime(
  method: Method,
  dataBytes: number,
  relations: number,
  w: WorkloadWaits = { appGraceSeconds: 0, readinessSeconds: 0 },
): { seconds: number; formula: string } {
  const mb = dataBytes / 2 ** 20;
  const per = method === 'copy' ? mb / 200 : method === 'dump' ? mb / 40 : 0;
  const data =
    method === 'copy'
      ? ` + ${mb.toFixed(0)} MiB ÷ 200 MiB/s`
      : method === 'dump'
        ? ` + ${mb.toFixed(0)} MiB ÷ 40 MiB/s (dump and restore)`
        : ` (${method}: no data is copied)`;
  const waits = [
    ...(w.appGraceSeconds
      ? [
          ` + up to ${w.appGraceSeconds} s for the applications to stop (their terminationGracePeriodSeconds; less when they honour SIGTERM)`,
        ]
      : []),
    ...(w.readinessSeconds ? [` + ${w.readinessSeconds} s of readiness probes (initial delay + period)`] : []),
  ];
  const seconds = 5 + relations * 0.004 + per + w.appGraceSeconds + w.readinessSeconds;
  return { seconds: Math.round(seconds), formula: `5 s + ${relations} relations × 4 ms${data}${waits.join('')}` };
}
