import type { DumpState } from './dump-state.ts';
import type { ScaledWorkload, UpgradeState } from './state.ts';

/**
 * What `validate` needs of an upgrade's record, in place or by dump: one view that both records give, so that the
 * checks do not care which method ran. Pure.
 */
export interface ValidatedUpgrade {
  /** The workload the upgrade was asked for (by dump: the source, scaled to 0 and kept). */
  workload: ScaledWorkload;
  from: number;
  fromVersion: string;
  to: number;
  /** link, copy, clone, swap or dump: what a resume passes to --method. */
  method: string;
  phase: string;
  /** The record's phase that means finished. */
  finished: boolean;
  snapshot: string | null;
  /** Where the reference fingerprint is kept. */
  fingerprintConfigMap: string;
  /** In place: read from the snapshot or the running server (src/state/reference.ts); by dump: the source, before the load. */
  reference: 'in-place' | 'dump';
  /**
   * When the new server's activity counters began: in place, when it first started; by dump, when the load had
   * ended and the counters were reset (the restore's own inserts are not a client's).
   */
  countersSince?: string;
  apps: ScaledWorkload[];
  /** The in-place upgrade's Job (its own and its rollback's names begin with it); a dump runs none. */
  job?: string;
  /** The last phase's time. */
  lastAt?: string;
  /** By dump: the new instance, and its own superuser, whose password is its Secret's (hashed as the target hashes). */
  target?: { kind: ScaledWorkload['kind']; name: string; container: string; superuser: string };
}

/** The view of an in-place upgrade's record. */
export function inPlaceView(s: UpgradeState): ValidatedUpgrade {
  return {
    workload: s.workload,
    from: s.from,
    fromVersion: s.fromVersion,
    to: s.to,
    method: s.method,
    phase: s.phase,
    finished: s.phase === 'done',
    snapshot: s.snapshot,
    fingerprintConfigMap: s.fingerprintConfigMap,
    reference: 'in-place',
    countersSince: s.history.find((h) => h.phase === 'db-start')?.at,
    apps: s.apps,
    job: s.job,
    lastAt: s.history.at(-1)?.at,
  };
}

/** The view of an upgrade by dump's record; `fingerprintConfigMap` is where the dump kept the source's fingerprint. */
export function dumpView(s: DumpState, fingerprintConfigMap: string): ValidatedUpgrade {
  const t = s.target;
  return {
    workload: s.workload,
    from: s.from,
    fromVersion: s.fromVersion,
    to: s.to,
    method: 'dump',
    phase: s.phase,
    finished: s.phase === 'done',
    snapshot: null,
    fingerprintConfigMap,
    reference: 'dump',
    countersSince: s.history.findLast((h) => h.phase === 'loaded')?.at,
    apps: s.apps,
    lastAt: s.history.at(-1)?.at,
    target: { kind: t.kind, name: t.name, container: t.container, superuser: t.superuser },
  };
}
