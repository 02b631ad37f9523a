import { CliError, ExitCode } from '../../../exit-codes.ts';
import { fingerprintVia, shapeVia } from '../../../fingerprint/read.ts';
import { withShapeSequences } from '../../../postgres/shape.ts';
import { compareFingerprints, type Fingerprint } from '../../../postgres/fingerprint.ts';
import { refOf } from '../../../postgres/workload.ts';
import { liveReach } from '../../../server/reach.ts';
import { dst, recordState, targetPassword, type DumpCtx } from './ctx.ts';
import { targetDiscovery } from './instance.ts';
import { sourceReference } from './source-reference.ts';

/**
 * The new instance's fingerprint against the source's: equal, but for extensions at the target's default version
 * (CREATE EXTENSION) and the target's own superuser, which keeps the password of its Secret as the target hashes
 * it (SCRAM from 14), or is a role of its own when its name differs. Those are returned as notes, not differences.
 */
export function judgeTarget(
  superuser: string,
  before: Fingerprint,
  after: Fingerprint,
): { diff: string[]; own: string[] } {
  const isOwn = (d: string) => d.startsWith(`role ${superuser}:`) || d === `role ${superuser} new after`;
  const all = compareFingerprints(before, after, { extensionUpdates: true });
  return { diff: all.filter((d) => !isOwn(d)), own: all.filter(isOwn) };
}

/** Judges, notes the superuser's own difference, and fails loudly with the way back on any other. */
function settle(ctx: DumpCtx, before: Fingerprint, after: Fingerprint, appsStarted: boolean): void {
  const { diff, own } = judgeTarget(dst(ctx).target.superuser, before, after);
  ctx.fingerprintDiff = diff;
  ctx.globalsNotes.push(
    ...own.map((d) => `the target's own superuser differs, as it should (its password is its Secret's): ${d}`),
  );
  if (!diff.length) return;
  const undo = `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(dst(ctx).workload)} --rollback`;
  throw new CliError(
    `the new instance differs from the source:\n  ${diff.join('\n  ')}\n` +
      (appsStarted
        ? `The applications were started meanwhile (the load had ended without an error): stop them now, look, then undo (their writes since are lost): ${undo}`
        : `Nothing was cut over; the source is untouched. Undo: ${undo}`),
    ExitCode.failed,
  );
}

/**
 * Before the cutover. With --full-verify, the whole content is compared now, the applications still down. By
 * default a REPEATABLE READ snapshot of every database of the new instance is held first (what it reads no longer
 * changes, whatever the applications write), recorded, and compared after the applications are back.
 */
export async function holdOrCompare(ctx: DumpCtx, fullVerify: boolean): Promise<string> {
  const t = await targetDiscovery(ctx);
  if (fullVerify) {
    const [before, after] = await Promise.all([
      sourceReference(ctx),
      fingerprintVia(ctx.cluster, t, liveReach(t), targetPassword(ctx)),
    ]);
    settle(ctx, before, after, false);
    ctx.verification = 'the whole content compared before the cutover (--full-verify)';
    return 'the content compared: equal';
  }
  // Sequences are not transactional (a held snapshot still sees every later nextval()): their values are read now.
  const shape = await shapeVia(ctx.cluster, t, liveReach(t), targetPassword(ctx));
  let held: () => void = () => undefined;
  const heldNow = new Promise<void>((r) => (held = r));
  const reading = fingerprintVia(ctx.cluster, t, liveReach(t), targetPassword(ctx), () => held());
  ctx.verifyReading = reading.then((fp) => withShapeSequences(fp, shape));
  ctx.verifyReading.catch(() => undefined); // awaited by the verify phase; a failure is reported there
  await Promise.race([heldNow, reading]);
  ctx.state = { ...dst(ctx), verifyHeldAt: new Date().toISOString() };
  await recordState(ctx);
  // Without a cutover the applications come back to the source: it is read before they do.
  if (!dst(ctx).cutover) ctx.before ??= await sourceReference(ctx);
  return 'a snapshot of the new instance is held; its content is compared while the applications start';
}

/** After the applications are back: the held snapshot's content against the source's, or what an earlier run left. */
export async function verifyHeld(ctx: DumpCtx): Promise<string> {
  if (ctx.verification) return ctx.verification;
  // The source is read now, beside the held snapshot (unless read before: --no-cutover): nothing has written it
  // since the applications went down (they use the new instance), and it stays up until this is done. Also on a
  // resumed run, for rollback and validate.
  const before = ctx.before ?? (await sourceReference(ctx));
  ctx.before = before;
  if (!ctx.verifyReading) {
    ctx.verification =
      `interrupted earlier after the applications started (${dst(ctx).verifyHeldAt ?? 'time unknown'}); the content compare cannot be ` +
      `repeated: validate judges it (kubectl pgupgrade validate -n ${ctx.d.namespace} ${refOf(dst(ctx).workload)})`;
    return ctx.verification;
  }
  settle(ctx, before, await ctx.verifyReading, true);
  ctx.verification =
    'the load ended without an error before the applications returned; the content compared while they started, from a snapshot held before';
  return 'equal';
}
