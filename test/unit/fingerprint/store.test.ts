import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Fingerprint } from '../../../src/postgres/fingerprint.ts';
import { keyChecksums } from '../../../src/fingerprint/keyed.ts';
import { createFingerprintObjects, deleteFingerprintObjects } from '../../../src/fingerprint/objects.ts';
import {
  fingerprintData,
  fingerprintObjects,
  isFingerprintPart,
  readFingerprint,
} from '../../../src/fingerprint/store.ts';
import { objectStore } from '../doubles/object-store.ts';

const test = suite('fingerprint ConfigMaps');
const cm = (stored: ReturnType<typeof fingerprintData>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'fp' },
  ...stored,
});

/** A fingerprint of `tables` tables, with names and checksums as varied as real ones. */
function fingerprint(tables: number): Fingerprint {
  const t: Fingerprint['perDb'][string]['tables'] = {};
  for (let i = 0; i < tables; i++)
    t[`tenant_${i % 97}.events_${i.toString(36)}_archive`] = {
      rows: (i * 7919) % 100_000,
      checksum: String((i * 2654435761) % 2 ** 60),
    };
  return {
    databases: { app: { encoding: 'UTF8', collate: 'C', ctype: 'C' } },
    roles: { app: 'scram-sha-256' },
    perDb: {
      app: {
        tables: t,
        sequences: {},
        extensions: { plpgsql: '1.0' },
        objects: [],
        largeObjects: { count: 0, checksum: '0' },
      },
    },
  };
}

const base = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fp', namespace: 'ns', labels: { a: 'b' } } };

test('a small fingerprint stays readable JSON in data', async () => {
  const fp = fingerprint(10);
  const stored = fingerprintData(fp);
  assert.equal(Object.keys(stored?.data ?? {}), ['fingerprint.json']);
  assert.is(stored?.binaryData, undefined);
  assert.equal(await readFingerprint(objectStore(), cm(stored)), fp);
});

test('a fingerprint of more than 1 MiB (a database of 20,000 tables) is kept gzip-compressed in binaryData, under the limit', async () => {
  const fp = fingerprint(20_000);
  assert.ok(JSON.stringify(fp).length > 2 ** 20, 'the JSON alone would not fit a ConfigMap');
  const stored = fingerprintData(fp);
  assert.is(stored?.data, undefined);
  const gz = stored?.binaryData?.['fingerprint.json.gz'] ?? '';
  assert.ok(gz.length > 0 && gz.length < 1_000_000, `${gz.length} bytes stored`);
  assert.equal(await readFingerprint(objectStore(), cm(stored)), fp);
});

test('100,000 tables with keyed checksums: parts of at most 1,000,000 characters each, read back whole, deleted whole', async () => {
  const fp = keyChecksums(fingerprint(100_000), 'k');
  assert.is(fingerprintData(fp), undefined, 'one ConfigMap cannot hold it');
  const cluster = objectStore();
  await createFingerprintObjects(cluster, base, fp);
  const names = [...cluster.objects.keys()].sort();
  assert.ok(names.length >= 3, names.join(' '));
  for (const o of cluster.objects.values()) {
    assert.ok(JSON.stringify(o).length < 1_048_576, `${o.metadata.name} within a ConfigMap's limit`);
    assert.equal(o.metadata.labels, { a: 'b' });
  }
  const first = await cluster.readObject({ ...base, ...base.metadata });
  assert.is(first?.metadata.annotations?.['pgupgrade.kubectl.io/fingerprint-parts'], String(names.length));
  assert.ok(
    names.slice(1).every((n) => isFingerprintPart(n.split('/')[2] as string, 'fp')),
    names.join(' '),
  );
  assert.equal(await readFingerprint(cluster, first), fp);
  await deleteFingerprintObjects(cluster, 'ns', 'fp');
  assert.is(cluster.objects.size, 0);
});

test('a missing part is said, by name, instead of a fingerprint that would compare wrong', async () => {
  const cluster = objectStore();
  // Past the plain form's 512 KiB, and parts of 20,000 characters.
  const fp = fingerprint(10_000);
  for (const o of fingerprintObjects(base, fp, 20_000)) await cluster.createObject(o);
  await cluster.deleteObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'fp-part-2' });
  const first = await cluster.readObject({ ...base, ...base.metadata });
  const said = await readFingerprint(cluster, first).then(
    () => 'read',
    (e: Error) => e.message,
  );
  assert.match(said, /ConfigMap ns\/fp-part-2, part 2 of \d+ of the fingerprint kept in fp, is missing/);
  assert.not.ok(isFingerprintPart('fp-partial', 'fp'));
});

test('stale parts of an interrupted store are replaced; a look-alike in the way is refused, and a part is never deleted as a fingerprint', async () => {
  // Parts of 20,000 characters, as the tests' knob asks (the stale ones from a larger fingerprint: 10,000 characters).
  process.env.PGUPGRADE_FINGERPRINT_CONFIGMAP_CHARS = '20000';
  const cluster = objectStore();
  const fp = fingerprint(10_000);
  const [, ...stale] = fingerprintObjects(base, fp, 10_000);
  for (const o of stale) await cluster.createObject(o);
  await createFingerprintObjects(cluster, base, fp);
  assert.equal(await readFingerprint(cluster, await cluster.readObject({ ...base, ...base.metadata })), fp);
  const other = objectStore();
  await other.createObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fp-part-2', namespace: 'ns' } });
  const said = await createFingerprintObjects(other, base, fp).then(
    () => 'stored',
    (e: Error) => e.message,
  );
  assert.match(said, 'ConfigMap ns/fp-part-2 is in the way of the fingerprint kept in fp, and is not a part of it');
  const refused = await deleteFingerprintObjects(cluster, 'ns', 'fp-part-2').then(
    () => 'deleted',
    (e: Error) => e.message,
  );
  assert.match(refused, 'is a part of the fingerprint kept in fp');
  assert.ok(await cluster.readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'fp-part-2' }));
  assert.equal(await readFingerprint(cluster, await cluster.readObject({ ...base, ...base.metadata })), fp);
  delete process.env.PGUPGRADE_FINGERPRINT_CONFIGMAP_CHARS;
});

test('a kill mid-delete leaves nothing a reader follows nor a gap: the named one first, then the parts, the last first', async () => {
  const cluster = objectStore();
  const fp = fingerprint(10_000);
  for (const o of fingerprintObjects(base, fp, 20_000)) await cluster.createObject(o);
  const deleted: string[] = [];
  const del = cluster.deleteObject.bind(cluster);
  cluster.deleteObject = async (r) => {
    deleted.push(r.name as string);
    return del(r);
  };
  await deleteFingerprintObjects(cluster, 'ns', 'fp');
  const n = deleted.length;
  assert.ok(n >= 3, deleted.join(' '));
  assert.equal(deleted, ['fp', ...Array.from({ length: n - 1 }, (_, i) => `fp-part-${n - i}`)]);
  assert.is(cluster.objects.size, 0);
});

test('a store over a fingerprint kept already is refused, and leaves it whole', async () => {
  const cluster = objectStore();
  const fp = fingerprint(3);
  await createFingerprintObjects(cluster, base, fp);
  const said = await createFingerprintObjects(cluster, base, fingerprint(4)).then(
    () => 'stored',
    (e: Error) => e.message,
  );
  assert.match(said, 'ConfigMap ns/fp holds a fingerprint already');
  assert.equal(await readFingerprint(cluster, await cluster.readObject({ ...base, ...base.metadata })), fp);
});

test('the older plain form is read, and a ConfigMap without a fingerprint gives undefined', async () => {
  const fp = fingerprint(3);
  const c = objectStore();
  assert.equal(await readFingerprint(c, cm({ data: { 'fingerprint.json': JSON.stringify(fp) } })), fp);
  assert.is(await readFingerprint(c, cm({ data: {} })), undefined);
  assert.is(await readFingerprint(c, undefined), undefined);
});

test.run();
