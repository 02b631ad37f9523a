import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Fingerprint } from '../../../src/postgres/fingerprint.ts';
import { fingerprintData, readFingerprint } from '../../../src/fingerprint/store.ts';

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

test('a small fingerprint stays readable JSON in data', () => {
  const fp = fingerprint(10);
  const stored = fingerprintData(fp);
  assert.equal(Object.keys(stored.data ?? {}), ['fingerprint.json']);
  assert.is(stored.binaryData, undefined);
  assert.equal(readFingerprint(cm(stored)), fp);
});

test('a fingerprint of more than 1 MiB (a database of 20,000 tables) is kept gzip-compressed in binaryData, under the limit', () => {
  const fp = fingerprint(20_000);
  assert.ok(JSON.stringify(fp).length > 2 ** 20, 'the JSON alone would not fit a ConfigMap');
  const stored = fingerprintData(fp);
  assert.is(stored.data, undefined);
  const gz = stored.binaryData?.['fingerprint.json.gz'] ?? '';
  assert.ok(gz.length > 0 && gz.length < 1_000_000, `${gz.length} bytes stored`);
  assert.equal(readFingerprint(cm(stored)), fp);
});

test('the older plain form is read, and a ConfigMap without a fingerprint gives undefined', () => {
  const fp = fingerprint(3);
  assert.equal(readFingerprint(cm({ data: { 'fingerprint.json': JSON.stringify(fp) } })), fp);
  assert.is(readFingerprint(cm({ data: {} })), undefined);
  assert.is(readFingerprint(undefined), undefined);
});

test.run();
