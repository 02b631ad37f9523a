import type { KObject } from '../k8s/cluster.ts';
import type { ValidateFinding } from '../postgres/validate.ts';
import type { ScaledWorkload } from '../state/state.ts';
import type { ValidatedUpgrade } from '../state/validated-upgrade.ts';
import { refOf } from '../postgres/workload.ts';
import { isRolledOut } from '../steps/workload.ts';

/** Why one recorded application is not back as it was, or undefined when it is. Pure. */
export function appProblem(w: ScaledWorkload, o: KObject | undefined, ns: string): string | undefined {
  if (!o) return `${refOf(w)}: gone (kubectl -n ${ns} get ${w.kind.toLowerCase()})`;
  const spec = Number(o.spec?.replicas ?? 1);
  if (spec !== w.replicas)
    return `${refOf(w)}: ${spec} replicas, recorded ${w.replicas} (kubectl -n ${ns} scale ${refOf(w)} --replicas=${w.replicas})`;
  if (!isRolledOut(o, w)) {
    return `${refOf(w)}: rollout not complete, ${o.status?.readyReplicas ?? 0} of ${w.replicas} ready (kubectl -n ${ns} rollout status ${refOf(w)})`;
  }
  return undefined;
}

/** 8. The applications recorded by the upgrade are back at their replica counts, with their rollouts complete. */
export function judgeApplications(
  s: Pick<ValidatedUpgrade, 'apps'>,
  found: Array<KObject | undefined>,
  ns: string,
): ValidateFinding {
  const title = 'The applications are back at their recorded replicas';
  const bad = s.apps.map((w, i) => appProblem(w, found[i], ns)).filter((p): p is string => !!p);
  if (bad.length)
    return {
      id: 'applications',
      title,
      status: 'fail',
      found: bad.join('; '),
      fix: 'scale them back and wait for their rollouts (commands above)',
    };
  return {
    id: 'applications',
    title,
    status: 'pass',
    found: s.apps.length
      ? `${s.apps.map((w) => `${refOf(w)} (${w.replicas})`).join(', ')} ready`
      : 'the upgrade recorded none',
  };
}

/** The upgrade and rollback Jobs of this workload that failed (an upgrade by dump runs none). */
export function failedJobs(jobs: KObject[], s: Pick<ValidatedUpgrade, 'job'>): string[] {
  const job = s.job;
  if (!job) return [];
  return jobs
    .filter(
      (j) =>
        j.metadata.name === job ||
        j.metadata.name.startsWith(`${job}-`) ||
        j.metadata.labels?.['pgupgrade.kubectl.io/role']?.endsWith('-job'),
    )
    .filter(
      (j) =>
        (j.status?.failed ?? 0) > 0 ||
        (j.status?.conditions ?? []).some(
          (c: { type: string; status: string }) => c.type === 'Failed' && c.status === 'True',
        ),
    )
    .map((j) => j.metadata.name);
}

/** 9. Nothing left half-done: the record says done, and no upgrade Job failed. */
export function judgeFinished(s: ValidatedUpgrade, failed: string[], ns: string): ValidateFinding {
  const title = 'Nothing left half-done';
  const ref = refOf(s.workload);
  if (!s.finished) {
    return {
      id: 'finished',
      title,
      status: 'fail',
      found: `the upgrade from ${s.from} to ${s.to} stopped after its "${s.phase}" phase`,
      fix: `resume it: kubectl pgupgrade upgrade -n ${ns} ${ref} --to ${s.to} --method ${s.method}; or undo it: kubectl pgupgrade upgrade -n ${ns} ${ref} --rollback`,
    };
  }
  if (failed.length) {
    return {
      id: 'finished',
      title,
      status: 'fail',
      found: `failed Job${failed.length > 1 ? 's' : ''}: ${failed.join(', ')}`,
      fix: `read why: kubectl -n ${ns} logs job/${failed[0]}; then delete it: kubectl -n ${ns} delete job ${failed.join(' ')}`,
    };
  }
  const at = s.lastAt;
  return {
    id: 'finished',
    title,
    status: 'pass',
    found: `the upgrade from ${s.fromVersion} to ${s.to} (--${s.method}) is recorded done${at ? ` at ${at}` : ''}; no failed Job`,
  };
}

/**
 * Whether a database's activity counters were reset after the new server first started (a crash or
 * pg_stat_reset): then they cannot tell a client's write from a loss. A minute of slack for clock skew between
 * the plugin's machine, which wrote the record, and the server.
 */
export function countersResetAfter(statsReset: string | null, dbStart: string | undefined): string | undefined {
  if (!statsReset || !dbStart) return undefined;
  return Date.parse(statsReset) > Date.parse(dbStart) + 60_000 ? statsReset : undefined;
}
