import { gunzipSync, gzipSync } from 'node:zlib';
import type { Cluster, KObject } from '../k8s/cluster.ts';
import type { Fingerprint } from '../postgres/fingerprint.ts';
import { RECORD_KEY_FIELD, RECORD_KEY_SECRET } from '../manifests/record-key.ts';
import { keyChecksums } from './keyed.ts';

/**
 * How a fingerprint is kept in ConfigMaps, in one place for everything that stores or reads one (upgrade,
 * rollback, snapshot). A ConfigMap holds at most 1 MiB, and a database with many tables has a larger JSON: past
 * PLAIN_LIMIT it is kept gzip-compressed in binaryData, and past STORED_LIMIT compressed (tens of thousands of
 * tables: each keyed checksum is 16 bytes that do not compress) in parts: the named ConfigMap holds the first and
 * says how many (FINGERPRINT_PARTS), `<name>-part-<n>` the others, with its labels and owners and FINGERPRINT_PART_OF.
 */
const KEY = 'fingerprint.json';
const GZ_KEY = 'fingerprint.json.gz';
const PART_KEY = 'fingerprint.json.gz.part';
export const FINGERPRINT_PARTS = 'pgupgrade.kubectl.io/fingerprint-parts';
export const FINGERPRINT_PART_OF = 'pgupgrade.kubectl.io/fingerprint-part-of';
const PLAIN_LIMIT = 512 * 1024;
// What the apiserver takes, with room for the metadata (etcd's request limit is 1.5 MiB; ConfigMaps 1 MiB).
const STORED_LIMIT = 1_000_000;
/**
 * The characters one ConfigMap keeps: STORED_LIMIT, or PGUPGRADE_FINGERPRINT_CONFIGMAP_CHARS when it is lower (the
 * tests lower it to put a small database's fingerprint in parts through a real apiserver; it lowers the plain
 * form's limit too).
 */
function storedLimit(): number {
  const asked = Math.floor(Number(process.env.PGUPGRADE_FINGERPRINT_CONFIGMAP_CHARS));
  // Whole base64 quanta, and not so small that the parts would be counted in thousands.
  return asked >= 256 ? Math.min(asked - (asked % 4), STORED_LIMIT) : STORED_LIMIT;
}

/** The name of part `n` (from 2) of the fingerprint kept in ConfigMap `name`. */
export const fingerprintPartName = (name: string, n: number): string => `${name}-part-${n}`;

/** Is ConfigMap `name` a further part of the fingerprint kept in ConfigMap `of`? */
export const isFingerprintPart = (name: string, of: string): boolean =>
  name.startsWith(`${of}-part-`) && /^\d+$/.test(name.slice(of.length + 6));

/** Is ConfigMap `name` the fingerprint kept in `of`, or one of its further parts? */
export const isFingerprintOrPart = (name: string, of: string): boolean => name === of || isFingerprintPart(name, of);

/** The fingerprint as plain JSON when it is small, else gzip-compressed and base64-encoded (compressed once). */
function encoded(fp: Fingerprint, limit: number): { json: string } | { gz: string } {
  const json = JSON.stringify(fp);
  if (Buffer.byteLength(json) <= Math.min(PLAIN_LIMIT, limit)) return { json };
  return { gz: gzipSync(json, { level: 9 }).toString('base64') };
}

/** The `data` or `binaryData` of a fingerprint ConfigMap, or undefined when it needs parts. */
export function fingerprintData(
  fp: Fingerprint,
  limit = storedLimit(),
): Pick<KObject, 'data' | 'binaryData'> | undefined {
  return whole(encoded(fp, limit), limit);
}

/** The one ConfigMap's data for an encoded fingerprint, or undefined when it needs parts. */
function whole(e: { json: string } | { gz: string }, limit: number): Pick<KObject, 'data' | 'binaryData'> | undefined {
  if ('json' in e) return { data: { [KEY]: e.json } };
  return e.gz.length <= limit ? { binaryData: { [GZ_KEY]: e.gz } } : undefined;
}

/**
 * The ConfigMaps that keep `fp` for `cm` (its metadata, no data): `cm` itself, and, for a fingerprint that one
 * ConfigMap cannot hold, one more per further part. `limit`: the characters one holds (tests lower it).
 */
export function fingerprintObjects(cm: KObject, fp: Fingerprint, limit = storedLimit()): KObject[] {
  const e = encoded(fp, limit);
  const one = whole(e, limit);
  if (one || 'json' in e) return [{ ...cm, ...one }];
  const gz = e.gz;
  const parts = Array.from({ length: Math.ceil(gz.length / limit) }, (_, i) => gz.slice(i * limit, (i + 1) * limit));
  const { name, namespace, labels, ownerReferences } = cm.metadata;
  const first: KObject = {
    ...cm,
    metadata: {
      ...cm.metadata,
      annotations: { ...cm.metadata.annotations, [FINGERPRINT_PARTS]: String(parts.length) },
    },
    binaryData: { [PART_KEY]: parts[0] as string },
  };
  const rest = parts.slice(1).map((part, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: fingerprintPartName(name, i + 2),
      namespace,
      ...(labels ? { labels } : {}),
      ...(ownerReferences ? { ownerReferences } : {}),
      annotations: { [FINGERPRINT_PART_OF]: name },
    },
    binaryData: { [PART_KEY]: part },
  }));
  return [first, ...rest];
}

/** The fingerprint a ConfigMap holds, its further parts read from `cluster`; undefined when it holds none. */
export async function readFingerprint(cluster: Cluster, cm: KObject | undefined): Promise<Fingerprint | undefined> {
  const parts = Number(cm?.metadata.annotations?.[FINGERPRINT_PARTS] ?? 0);
  let gz = cm?.binaryData?.[parts ? PART_KEY : GZ_KEY];
  for (let n = 2; gz && n <= parts; n++) {
    const name = fingerprintPartName(cm?.metadata.name ?? '', n);
    const part = await cluster.readObject({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: cm?.metadata.namespace,
      name,
    });
    const text =
      part?.metadata.annotations?.[FINGERPRINT_PART_OF] === cm?.metadata.name
        ? part?.binaryData?.[PART_KEY]
        : undefined;
    if (!text) {
      throw new Error(
        `ConfigMap ${cm?.metadata.namespace}/${name}, part ${n} of ${parts} of the fingerprint kept in ${cm?.metadata.name}, is missing: that fingerprint cannot be read`,
      );
    }
    gz += text;
  }
  const json = gz ? gunzipSync(Buffer.from(gz, 'base64')).toString('utf8') : cm?.data?.[KEY];
  return json ? (JSON.parse(json) as Fingerprint) : undefined;
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
  const fp = await readFingerprint(cluster, cm);
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
