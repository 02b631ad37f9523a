import { randomBytes } from 'node:crypto';
import type { KObject } from '../../../src/k8s/cluster.ts';
import { recordKeySecret } from '../../../src/state/record-key.ts';
import { RECORD_KEY_FIELD, RECORD_KEY_SECRET, SEAL_ANNOTATION, sealOf } from '../../../src/state/seal.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';
import { applyObjects } from './helpers.ts';

/** The namespace's record key as the plugin keeps it, made the plugin's way when it has none yet. */
async function recordKeyOf(cp: ControlPlane, ns: string): Promise<string> {
  const read = async () => {
    const r = await cp.kubectl(
      ['-n', ns, 'get', 'secret', RECORD_KEY_SECRET, '-o', `jsonpath={.data.${RECORD_KEY_FIELD}}`],
      { allowFail: true },
    );
    return r.code === 0 && r.stdout ? Buffer.from(r.stdout, 'base64').toString('utf8') : undefined;
  };
  const found = await read();
  if (found) return found;
  await applyObjects(cp, [recordKeySecret(ns, randomBytes(32).toString('hex')) as unknown as Record<string, unknown>]);
  return (await read()) ?? '';
}

/**
 * Applies a record sealed with the namespace's key, as the plugin would have written it: a stand-in for a record
 * that an earlier run made (for a workload since deleted and made again, say), which the cluster's admin can do.
 */
export async function applySealedRecord(cp: ControlPlane, cm: KObject): Promise<void> {
  const key = await recordKeyOf(cp, cm.metadata.namespace ?? '');
  const annotations = { ...cm.metadata.annotations, [SEAL_ANNOTATION]: sealOf(key, cm.data) };
  await applyObjects(cp, [{ ...cm, metadata: { ...cm.metadata, annotations } } as unknown as Record<string, unknown>]);
}
