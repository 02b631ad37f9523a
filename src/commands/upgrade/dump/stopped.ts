import { CliError, ExitCode } from '../../../exit-codes.ts';
import { tuningLeftNote } from '../../../postgres/dump-plan.ts';
import { refOf } from '../../../postgres/workload.ts';
import { isDumpDone, leftChanged } from '../../../state/dump-state.ts';
import { ownerKey } from '../../../postgres/gitops-pause.ts';
import type { DumpCtx } from './ctx.ts';

/** What a stopped run left changed on the servers (the record's phase says), each with how it is put back. */
export function stoppedNotes(ctx: DumpCtx): string[] {
  const s = ctx.state;
  if (!s) return [];
  const ns = ctx.d.namespace;
  const upgrade = `kubectl pgupgrade upgrade -n ${ns} ${refOf(s.workload)}`;
  const left = leftChanged(s);
  return [
    ...(left.tuned
      ? [
          tuningLeftNote({
            ns,
            target: refOf(s.target),
            container: s.target.container,
            superuser: s.target.superuser,
            prior: s.targetBefore ?? [],
            resume: `${upgrade} --to ${s.to} --method dump`,
          }),
        ]
      : []),
    ...(left.readOnly
      ? [
          `The source ${refOf(s.workload)} is read-only for every new transaction (default_transaction_read_only, set by the upgrade): ` +
            `a resume keeps it so until the cutover; --rollback makes it writable again (${upgrade} --rollback)`,
        ]
      : []),
    ...(s.pausedOwners?.length && !s.ownersResumedAt && isDumpDone(s, 'apps-down')
      ? [
          `Paused by this upgrade and left paused while the applications are down: ` +
            `${s.pausedOwners.map(ownerKey).join(', ')}; the resumed run or --rollback puts them back as they were`,
        ]
      : []),
  ];
}

/** The error of a stopped run with those notes, its exit code kept. */
export function withStoppedNotes(err: unknown, notes: string[]): unknown {
  if (!notes.length) return err;
  const message = `${(err as Error).message ?? String(err)}\n${notes.join('\n')}`;
  return new CliError(message, err instanceof CliError ? err.exitCode : ExitCode.failed);
}
