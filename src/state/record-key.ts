import { randomBytes } from 'node:crypto';
import type { Cluster, KObject } from '../k8s/cluster.ts';
import { OWNED_LABELS } from '../manifests/probe-pod.ts';
import { RECORD_KEY_FIELD, RECORD_KEY_SECRET } from './seal.ts';

/** The namespace's record key, or undefined when its Secret does not exist. */
export function readRecordKey(cluster: Cluster, ns: string): Promise<string | undefined> {
  return cluster.readSecretKey(ns, RECORD_KEY_SECRET, RECORD_KEY_FIELD);
}

/** The Secret that holds a new key (random, 32 bytes); its value never appears anywhere else. */
export function recordKeySecret(ns: string, key: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: RECORD_KEY_SECRET,
      namespace: ns,
      labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'record-key' },
    },
    data: { [RECORD_KEY_FIELD]: Buffer.from(key).toString('base64') },
  } as KObject;
}

/** The namespace's record key, made on first use; two runs making it at once end with the one that was stored. */
export async function recordKey(cluster: Cluster, ns: string): Promise<string> {
  const found = await readRecordKey(cluster, ns);
  if (found) return found;
  try {
    await cluster.createObject(recordKeySecret(ns, randomBytes(32).toString('hex')));
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  const made = await readRecordKey(cluster, ns);
  if (!made) throw new Error(`the Secret ${ns}/${RECORD_KEY_SECRET} was created but its key cannot be read back`);
  return made;
}
