import { gunzipSync, gzipSync } from 'node:zlib';
import type { Cluster, KObject } from '../k8s/cluster.ts';
import { buildFingerprintConfigMap } from '../manifests/snapshot.ts';
import type { Fingerprint } from '../postgres/fingerprint.ts';
import { RECORD_KEY_FIELD, RECORD_KEY_SECRET } from '../manifests/record-key.ts';
import { keyChecksums } from './keyed.ts';

/**
 * How a fingerprint is kept in a ConfigMap, in one place for everything that stores or reads one (upgrade,
 * rollback, snapshot). A ConfigMap holds at most 1 MiB, and a database with many tables has a larger JSON: past
 * PLAIN_LIMIT it is kept gzip-compressed in binaryData. Both forms are read.
 */
const KEY = 'fingerprint.json';
const GZ_KEY = 'fingerprint.json.gz';
const PLAIN_LIMIT = 512 * 1024;
// What the apiserver takes, with room for the metadata (etcd's request limit is 1.5 MiB; ConfigMaps 1 MiB).
const STORED_LIMIT = 1_000_000;

/** The `data` or `binaryData` of a fingerprint ConfigMap. */
export function fingerprintData(fp: Fingerprint): Pick<KObject, 'data' | 'binaryData'> {
  const json = JSON.stringify(fp);
  if (json.length <= PLAIN_LIMIT) return { data: { [KEY]: json } };
  const gz = gzipSync(json, { level: 9 }).toString('base64');
  if (gz.length > STORED_LIMIT) {
    throw new Error(
      `the fingerprint is ${Math.round(json.length / 1024)} KiB of JSON, ${Math.round(gz.length / 1024)} KiB compressed: more than a ConfigMap holds`,
    );
  }
  return { binaryData: { [GZ_KEY]: gz } };
}

/** The fingerprint a ConfigMap holds, in either form; undefined when it holds none. */
export function readFingerprint(cm: KObject | undefined): Fingerprint | undefined {
  const gz = cm?.binaryData?.[GZ_KEY];
  const json = gz ? gunzipSync(Buffer.from(gz, 'base64')).toString('utf8') : cm?.data?.[KEY];
  return json ? (JSON.parse(json) as Fingerprint) : undefined;
}

/** Keeps the fingerprint in a ConfigMap owned by the snapshot, and points the snapshot at it. */
export async function storeFingerprint(cluster: Cluster, snap: KObject, fp: Fingerprint): Promise<string> {
  const cm = buildFingerprintConfigMap({
    snapshot: snap.metadata.name,
    snapshotUid: snap.metadata.uid ?? '',
    namespace: snap.metadata.namespace ?? '',
    stored: fingerprintData(fp),
  });
  await cluster.createObject(cm);
  return cm.metadata.name;
}

/**
 * The fingerprint a ConfigMap of namespace `ns` holds, its checksums keyed by the namespace's key as a fresh one's
 * are (src/fingerprint/read.ts): one kept unkeyed by an earlier release compares with today's all the same.
 */
export async function readKeyedFingerprint(
  cluster: Cluster,
  ns: string,
  cm: KObject | undefined,
): Promise<Fingerprint | undefined> {
  const fp = readFingerprint(cm);
  const key = fp && (await cluster.readSecretKey(ns, RECORD_KEY_SECRET, RECORD_KEY_FIELD));
  return fp && key ? keyChecksums(fp, key) : fp;
}

/** Reads a stored fingerprint back (keyed: readKeyedFingerprint). */
export async function loadFingerprint(
  cluster: Cluster,
  ns: string,
  configMap: string,
): Promise<Fingerprint | undefined> {
  return readKeyedFingerprint(
    cluster,
    ns,
    await cluster.readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: configMap }),
  );
}
