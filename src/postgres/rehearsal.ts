import type { WorkloadWaits } from './downtime.ts';

/**
 * What a rehearsal (`upgrade --rehearse`) measured on a snapshot clone, and what it predicts of the real upgrade's
 * downtime. Pure: the task tree measures, this adds up and says how.
 */
export interface RehearsalTimings {
  /** Creating the VolumeSnapshot of the live volume until it was cut. */
  snapshotCutMs: number;
  /** The old major's clean shutdown on the clone (the real database's stop takes as long, plus its pod's deletion). */
  oldStopMs: number;
  /** The upgrade Job: from its creation until its pod runs, then until it finished. */
  jobPodStartMs: number;
  jobRunMs: number;
  /** pg_upgrade alone, as the Job's log says. */
  pgUpgradeMs?: number;
  /** A pod on the target image: from its creation until it runs; then its server until it accepts connections. */
  newPodStartMs: number;
  newServerStartMs: number;
  /** One read of the shape (every relation and its size) on the new server: the default verify reads two. */
  shapeReadMs: number;
  /** After the downtime: update_extensions.sql, and the statistics (vacuumdb --analyze-in-stages). */
  extensionsMs?: number;
  analyzeMs?: number;
}

const MEASURED = [
  'snapshotCutMs',
  'oldStopMs',
  'jobPodStartMs',
  'jobRunMs',
  'newPodStartMs',
  'newServerStartMs',
  'shapeReadMs',
] as const;

/** The timings when every part that the prediction adds up was measured (a rehearsal that stopped early has not). */
export function completeTimings(t: Partial<RehearsalTimings>): RehearsalTimings | undefined {
  return MEASURED.every((k) => typeof t[k] === 'number') ? (t as RehearsalTimings) : undefined;
}

/** Scaling, pod deletion and the volume's detach around the real stop: not measurable on a clone, a fixed allowance. */
export const STOP_ALLOWANCE_MS = 1000;

/** The predicted downtime, part by part, and the bound that the applications' grace periods add. */
export function predictDowntime(
  t: RehearsalTimings,
  w: WorkloadWaits,
): { seconds: number; parts: Array<[string, number]>; graceBoundSeconds: number } {
  const parts: Array<[string, number]> = [
    [
      "applications and database stopped (the clone's clean shutdown + 1 s for scaling and detach)",
      t.oldStopMs + STOP_ALLOWANCE_MS,
    ],
    ['snapshot cut', t.snapshotCutMs],
    ['upgrade Job (pod start and run)', t.jobPodStartMs + t.jobRunMs],
    ['new server: pod start and server start', t.newPodStartMs + t.newServerStartMs],
    ['verify: the shape read twice', 2 * t.shapeReadMs],
    [
      "readiness probes of the database and the applications, and the applications' pod start",
      w.readinessSeconds * 1000 + t.newPodStartMs,
    ],
  ];
  const ms = parts.reduce((n, [, v]) => n + v, 0);
  return { seconds: Math.round(ms / 100) / 10, parts, graceBoundSeconds: w.appGraceSeconds };
}

/** What the upgrade Job's log says beyond success: settings commented out, extension updates pending, pg_upgrade's time. */
export function jobLogFacts(log: string): { commentedOut: string[]; updateExtensions: boolean; pgUpgradeMs?: number } {
  const commentedOut = [...log.matchAll(/pgupgrade: (\S+): (\S+) was removed in PostgreSQL \d+; commented out/g)].map(
    (m) => `${m[2]} (${m[1]})`,
  );
  const took = /pgupgrade: pg_upgrade took (\d+) ms/.exec(log);
  return {
    commentedOut,
    updateExtensions: /update_extensions\.sql written/.test(log),
    ...(took ? { pgUpgradeMs: Number(took[1]) } : {}),
  };
}

/** The outcome of the last rehearsal of an upgrade, kept in a ConfigMap so that the upgrade can heed it. */
export interface RehearsalRecord {
  to: number;
  method: string;
  ok: boolean;
  at: string;
  /** What failed, in a line, when it failed. */
  failure?: string;
}

/** Parses a stored record; undefined when there is none or it is not one. */
export function parseRehearsalRecord(text: string | undefined): RehearsalRecord | undefined {
  if (!text) return undefined;
  try {
    const r = JSON.parse(text) as Partial<RehearsalRecord>;
    if (
      typeof r.to !== 'number' ||
      typeof r.ok !== 'boolean' ||
      typeof r.at !== 'string' ||
      typeof r.method !== 'string'
    )
      return undefined;
    return {
      to: r.to,
      method: r.method,
      ok: r.ok,
      at: r.at,
      ...(typeof r.failure === 'string' ? { failure: r.failure } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Why `upgrade` must not go on: the last rehearsal of this very target failed. Undefined when it may. */
export function failedRehearsalProblem(
  r: RehearsalRecord | undefined,
  to: number,
  configMap: string,
  rerun: string,
): string | undefined {
  if (!r || r.ok || r.to !== to) return undefined;
  return (
    `the last rehearsal of this upgrade to ${to} (--${r.method}, ${r.at}, recorded in ConfigMap ${configMap}) failed: ${r.failure ?? 'see its report'}. ` +
    `Fix what it found and rehearse again (${rerun}); --force rehearsal goes on regardless`
  );
}
