import { fingerprintTotals } from '../../postgres/fingerprint.ts';
import { judgeLiveCopy } from '../../postgres/fingerprint-cut.ts';
import { readRestoredCopy } from '../../volume-snapshots/copy.ts';
import { storeFingerprint } from '../../fingerprint/objects.ts';
import { recordKey } from '../../state/record-key.ts';
import type { SnapshotCtx, TitledTask, VerifyResult } from './ctx.ts';

/** Restores the snapshot to a temporary PVC, starts the old major on it in a throwaway pod, and compares. */
async function verifyCopy(ctx: SnapshotCtx, onStep: (s: string) => void): Promise<VerifyResult> {
  await recordKey(ctx.cluster, ctx.d.namespace); // a stopped database's copy is its first fingerprint
  const copy = await readRestoredCopy(ctx.cluster, ctx.d, {
    snapshot: ctx.snap.metadata.name,
    image: ctx.d.image,
    restoreSizeBytes: ctx.record.restoreSizeBytes,
    purpose: 'verify',
    why: `starts PostgreSQL on a copy restored from VolumeSnapshot ${ctx.snap.metadata.name} to verify it; deleted when verify ends`,
    onStep,
  });
  const differences: string[] = [];
  if (ctx.controlData) {
    const c = copy.controlData;
    if (c.systemIdentifier !== ctx.controlData.systemIdentifier)
      differences.push(
        `system identifier ${ctx.controlData.systemIdentifier} → ${c.systemIdentifier}: not the same cluster`,
      );
    if (c.checkpointLocation !== ctx.controlData.checkpointLocation)
      differences.push(`latest checkpoint ${ctx.controlData.checkpointLocation} → ${c.checkpointLocation}`);
    if (c.state !== ctx.controlData.state) differences.push(`cluster state "${ctx.controlData.state}" → "${c.state}"`);
  }
  let writtenDuringCut: string[] = [];
  if (ctx.before && ctx.after) {
    const judged = judgeLiveCopy(ctx.before, ctx.after, copy.fingerprint);
    differences.push(...judged.differences);
    writtenDuringCut = judged.written;
  }
  // What the snapshot holds, exactly: the copy's own fingerprint is what a restore of it must show.
  ctx.fingerprintConfigMap = await storeFingerprint(ctx.cluster, ctx.snap, copy.fingerprint);
  return {
    ok: differences.length === 0,
    against: ctx.before ? 'fingerprints before and after the cut' : 'pg_controldata of the stopped cluster',
    differences,
    writtenDuringCut,
    totals: fingerprintTotals(copy.fingerprint),
    restoredPvc: copy.restoredPvc,
    pod: copy.pod,
  };
}

/** The verify task: the copy's progress in the task's title, then what the comparison found. */
export async function verifyTask(ctx: SnapshotCtx, task: TitledTask): Promise<void> {
  const base = task.title;
  ctx.verify = await verifyCopy(ctx, (s) => (task.title = `${base}: ${s}`));
  const t = ctx.verify.totals;
  task.title =
    `Verify: the copy started and ${ctx.verify.ok ? 'matches' : 'DIFFERS FROM'} the ${ctx.verify.against} ` +
    `(${t.databases} databases, ${t.tables} tables, ${t.rows} rows${ctx.verify.writtenDuringCut.length ? `; ${ctx.verify.writtenDuringCut.length} written during the cut` : ''}); ` +
    'temporary PVC and pod deleted';
}
