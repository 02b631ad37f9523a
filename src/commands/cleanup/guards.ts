import type { KObject } from '../../k8s/cluster.ts';
import { formatDuration } from '../../duration.ts';
import type { RecordedSource } from '../../state/state.ts';
import type { DumpState } from '../../state/dump-state.ts';
import { upgradeDoneAt, validatedSince, type RecordHistory } from '../../state/validated.ts';

type GuardedRecord = RecordedSource & RecordHistory & { phase: string; method: string };
import { refOf } from '../../postgres/workload.ts';
import { usageError } from '../../exit-codes.ts';

/** An upgrade that is not done is never cleaned up, --force or not: its leftovers are the way to resume or go back. Pure. */
export function unfinishedProblem(s: GuardedRecord, ns: string): string | undefined {
  if (s.phase === 'done' || (s.method === 'dump' && s.phase === 'rolled-back')) return undefined;
  const ref = refOf(s.workload);
  return (
    `the upgrade of ${s.workload.kind} ${ns}/${s.workload.name} from ${s.from} to ${s.to} is not finished: it stopped after its "${s.phase}" phase, ` +
    `and what cleanup would remove is what resuming or rolling it back needs. Nothing was changed. Resume it: kubectl pgupgrade upgrade -n ${ns} ${ref} ` +
    `--to ${s.to} --method ${s.method}; or undo it: kubectl pgupgrade upgrade -n ${ns} ${ref} --rollback`
  );
}

/** Whether the upgrade (or its rollback, by dump) is too young for cleanup (--older-than), or undefined. Pure. */
export function ageProblem(s: GuardedRecord, now: Date, olderThanMs: number, olderThan: string): string | undefined {
  if (s.phase === 'rolled-back') return rollbackAgeProblem(s as DumpState, now, olderThanMs, olderThan);
  const done = upgradeDoneAt(s);
  if (!done) return `the record of the upgrade has no time for its "done" phase, so its age is unknown`;
  const age = now.getTime() - done.getTime();
  if (age >= olderThanMs) return undefined;
  return (
    `the upgrade finished ${formatDuration(age)} ago (${done.toISOString()}), less than --older-than ${olderThan}: keep the old cluster and the ` +
    `snapshot until the applications have run on PostgreSQL ${s.to} for a while; run cleanup again after ${new Date(done.getTime() + olderThanMs).toISOString()}`
  );
}

/** Whether `validate` has not passed since the upgrade finished (src/state/validated.ts), or undefined. Pure. */
export function unvalidatedProblem(cm: KObject | undefined, s: GuardedRecord, ns: string): string | undefined {
  // After a rollback the old instance serves, as it did before: there is no upgrade for validate to prove.
  if (s.phase === 'rolled-back' || validatedSince(cm, s)) return undefined;
  return (
    `validate has not passed since the upgrade finished (ConfigMap ${ns}/${cm?.metadata.name ?? ''} has no later pgupgrade.kubectl.io/validated-at): ` +
    `run kubectl pgupgrade validate -n ${ns} ${refOf(s.workload)} first (it records when it passes), or check the database yourself and pass --force`
  );
}

/** After a rollback by dump: too young while the rollback is younger than --older-than (the new instance is its evidence). */
function rollbackAgeProblem(s: DumpState, now: Date, olderThanMs: number, olderThan: string): string | undefined {
  const at = upgradeDoneAt(s, 'rolled-back');
  if (!at) return `the record of the upgrade has no time for its "rolled-back" phase, so its age is unknown`;
  const age = now.getTime() - at.getTime();
  if (age >= olderThanMs) return undefined;
  return (
    `the upgrade was rolled back ${formatDuration(age)} ago (${at.toISOString()}), less than --older-than ${olderThan}: its new instance ` +
    `${s.target.kind} ${s.target.name} holds what the applications wrote between the cutover and the rollback; run cleanup again after ` +
    `${new Date(at.getTime() + olderThanMs).toISOString()}`
  );
}

/** The guards' problems: each refuses (exit 2, nothing changed) unless --force, which goes on and returns them, to be said. */
export function overrideOrRefuse(problems: Array<string | undefined>, force: boolean): string[] {
  const found = problems.filter((p): p is string => p !== undefined);
  if (found.length && !force) throw usageError(`${found[0]}. Nothing was changed; --force removes it all the same`);
  return found;
}
