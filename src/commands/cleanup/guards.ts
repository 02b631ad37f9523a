import type { KObject } from '../../k8s/cluster.ts';
import { formatDuration } from '../../duration.ts';
import type { UpgradeState } from '../../state/state.ts';
import { upgradeDoneAt, validatedSince } from '../../state/validated.ts';
import { refOf } from '../../postgres/workload.ts';


/** An upgrade that is not done is never cleaned up, --force or not: its leftovers are the way to resume or go back. Pure. */
export function unfinishedProblem(s: UpgradeState, ns: string): string | undefined {
  if (s.phase === 'done') return undefined;
  const ref = refOf(s.workload);
  return `the upgrade of ${s.workload.kind} ${ns}/${s.workload.name} from ${s.from} to ${s.to} is not finished: it stopped after its "${s.phase}" phase, ` +
    `and what cleanup would remove is what resuming or rolling it back needs. Nothing was changed. Resume it: kubectl pgupgrade upgrade -n ${ns} ${ref} ` +
    `--to ${s.to} --method ${s.method}; or undo it: kubectl pgupgrade upgrade -n ${ns} ${ref} --rollback`;
}

/** Whether the upgrade is too young for cleanup (--older-than), or undefined. Pure. */
export function ageProblem(s: UpgradeState, now: Date, olderThanMs: number, olderThan: string): string | undefined {
  const done = upgradeDoneAt(s);
  if (!done) return `the record of the upgrade has no time for its "done" phase, so its age is unknown`;
  const age = now.getTime() - done.getTime();
  if (age >= olderThanMs) return undefined;
  return `the upgrade finished ${formatDuration(age)} ago (${done.toISOString()}), less than --older-than ${olderThan}: keep the old cluster and the ` +
    `snapshot until the applications have run on PostgreSQL ${s.to} for a while; run cleanup again after ${new Date(done.getTime() + olderThanMs).toISOString()}`;
}

/** Whether `validate` has not passed since the upgrade finished (src/state/validated.ts), or undefined. Pure. */
export function unvalidatedProblem(cm: KObject | undefined, s: UpgradeState, ns: string): string | undefined {
  if (validatedSince(cm, s)) return undefined;
  return `validate has not passed since the upgrade finished (ConfigMap ${ns}/${cm?.metadata.name ?? ''} has no later pgupgrade.kubectl.io/validated-at): ` +
    `run kubectl pgupgrade validate -n ${ns} ${refOf(s.workload)} first (it records when it passes), or check the database yourself and pass --force`;
}
