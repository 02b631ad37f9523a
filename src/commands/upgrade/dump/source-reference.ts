import { fingerprintVia } from '../../../fingerprint/read.ts';
import { createFingerprintObjects, deleteFingerprintObjects } from '../../../fingerprint/objects.ts';
import { loadFingerprint } from '../../../fingerprint/store.ts';
import { OWNED_LABELS } from '../../../manifests/probe-pod.ts';
import type { Fingerprint } from '../../../postgres/fingerprint.ts';
import { liveReach } from '../../../server/reach.ts';
import { dumpReferenceName } from '../../../state/dump-state.ts';
import type { DumpCtx } from './ctx.ts';

/**
 * The source's fingerprint, read once nothing writes, and kept in a ConfigMap (one left by an earlier upgrade is
 * replaced): a resumed run and the rollback compare with the one taken then, as the source is not written after it.
 */
export async function takeSourceReference(ctx: DumpCtx): Promise<Fingerprint> {
  const name = dumpReferenceName(ctx.stateName);
  await forgetSourceReference(ctx);
  const fp = await fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
  await createFingerprintObjects(
    ctx.cluster,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: ctx.d.namespace,
        labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'dump-reference' },
      },
    },
    fp,
  );
  return fp;
}

/** Deletes a source fingerprint that an earlier upgrade left (this one's is taken once the load is done). */
export async function forgetSourceReference(ctx: DumpCtx): Promise<void> {
  await deleteFingerprintObjects(ctx.cluster, ctx.d.namespace, dumpReferenceName(ctx.stateName));
}

/** The kept fingerprint of this upgrade's source (a resumed run), taken now when there is none. */
export async function sourceReference(ctx: DumpCtx): Promise<Fingerprint> {
  return (
    (await loadFingerprint(ctx.cluster, ctx.d.namespace, dumpReferenceName(ctx.stateName))) ?? takeSourceReference(ctx)
  );
}
