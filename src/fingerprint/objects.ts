import type { Cluster, KObject } from '../k8s/cluster.ts';
import { buildFingerprintConfigMap } from '../manifests/snapshot.ts';
import type { Fingerprint } from '../postgres/fingerprint.ts';
import { FINGERPRINT_PART_OF, fingerprintObjects, fingerprintPartName } from './store.ts';

// Writing and deleting the ConfigMaps that keep a fingerprint (their encoding and reading: store.ts).

/** Creates the ConfigMaps that keep `fp` for `cm` (fingerprintObjects), the named one last: it says the rest are there. */
export async function createFingerprintObjects(cluster: Cluster, cm: KObject, fp: Fingerprint): Promise<void> {
  const [first, ...rest] = fingerprintObjects(cm, fp);
  const ns = cm.metadata.namespace ?? '';
  if (await cluster.readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: cm.metadata.name })) {
    throw new Error(`ConfigMap ${ns}/${cm.metadata.name} holds a fingerprint already: it is left as it is`);
  }
  // Parts an interrupted store left (no first names them) go first; a ConfigMap of that name that is not a part of
  // this fingerprint is refused, never replaced.
  await deleteParts(cluster, ns, cm.metadata.name);
  for (const o of rest) await cluster.createObject(o);
  await cluster.createObject(first as KObject);
}

/** Deletes ConfigMap `name` of `ns` and the further parts of a fingerprint it keeps: the parts first. */
export async function deleteFingerprintObjects(cluster: Cluster, ns: string, name: string): Promise<void> {
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name };
  const of = (await cluster.readObject(ref))?.metadata.annotations?.[FINGERPRINT_PART_OF];
  if (of) {
    throw new Error(
      `ConfigMap ${ns}/${name} is a part of the fingerprint kept in ${of}, not a fingerprint of its own: it is left as it is`,
    );
  }
  // The named one first: a kill after it leaves parts no reader looks at, which the next store removes.
  await cluster.deleteObject(ref);
  await deleteParts(cluster, ns, name);
}

/**
 * Deletes the unbroken run of parts from 2 on, each of which must name `name` as its fingerprint, the last first: a
 * kill part-way leaves a shorter unbroken run, never a gap that would hide the parts after it.
 */
async function deleteParts(cluster: Cluster, ns: string, name: string): Promise<void> {
  const refs = [];
  for (let n = 2; ; n++) {
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: fingerprintPartName(name, n) };
    const part = await cluster.readObject(ref);
    if (!part) break;
    if (part.metadata.annotations?.[FINGERPRINT_PART_OF] !== name) {
      throw new Error(
        `ConfigMap ${ns}/${ref.name} is in the way of the fingerprint kept in ${name}, and is not a part of it: rename or delete it, then run again`,
      );
    }
    refs.push(ref);
  }
  for (const ref of refs.reverse()) await cluster.deleteObject(ref);
}

/** Keeps the fingerprint in a ConfigMap owned by the snapshot, and points the snapshot at it. */
export async function storeFingerprint(cluster: Cluster, snap: KObject, fp: Fingerprint): Promise<string> {
  const cm = buildFingerprintConfigMap({
    snapshot: snap.metadata.name,
    snapshotUid: snap.metadata.uid ?? '',
    namespace: snap.metadata.namespace ?? '',
  });
  await createFingerprintObjects(cluster, cm, fp);
  return cm.metadata.name;
}
