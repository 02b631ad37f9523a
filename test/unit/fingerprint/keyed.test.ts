import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import type { Cluster } from '../../../src/k8s/cluster.ts';
import type { SourceDiscovery } from '../../../src/discovery/discover.ts';
import { compareFingerprints, type Fingerprint } from '../../../src/postgres/fingerprint.ts';
import { fingerprintVia } from '../../../src/fingerprint/read.ts';
import { keyChecksums } from '../../../src/fingerprint/keyed.ts';
import { fingerprintData, loadFingerprint } from '../../../src/fingerprint/store.ts';
import { recordKeySecret } from '../../../src/state/record-key.ts';
import { objectStore } from '../doubles/object-store.ts';

const test = suite(
  "fingerprint checksums keyed by the namespace's secret key: a one-row table's value cannot be tried against a ConfigMap",
);

/** FINGERPRINT_DB_SQL's checksum of a table whose rows have these texts (record_out), as the server computes it. */
const serverChecksum = (rows: string[]) =>
  String(rows.reduce((s, r) => s + BigInt(`0x${createHash('md5').update(r).digest('hex').slice(0, 15)}`), 0n));
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A server of one database whose table public.pin holds one row, (4711), answering the fingerprint's two execs. */
function server(withKey: string | undefined): Cluster {
  const store = objectStore();
  if (withKey) store.objects.set('Secret/ns/pgupgrade-record-key', recordKeySecret('ns', withKey));
  const cluster = JSON.stringify({
    databases: [
      { name: 'postgres', encoding: 'UTF8', collate: 'C', ctype: 'C' },
      { name: 'app', encoding: 'UTF8', collate: 'C', ctype: 'C' },
    ],
    roles: [],
  });
  const db = JSON.stringify({
    tables: { 'public.pin': `1 ${serverChecksum(['(4711)'])}` },
    sequences: {},
    extensions: {},
    objects: [],
    large_objects: { count: 0, checksum: '0' },
  });
  return {
    ...store,
    exec: async (_ns: string, _pod: string, _c: string, cmd: string[]) => ({
      exitCode: 0,
      stderr: '',
      stdout: cmd.some((a) => a.includes("'databases'"))
        ? `${b64('postgres')}\t${cluster}\n`
        : `${b64('app')}\t${db}\n`,
    }),
  } as unknown as Cluster;
}

const d = { namespace: 'ns', port: 5432, superuser: { user: 'postgres' } } as unknown as SourceDiscovery;
const reach = { pod: 'db-0', container: 'db', host: '127.0.0.1' };

test('what is kept of a one-row table holds no checksum that guessing its value reproduces; equal content still compares equal', async () => {
  const fp = await fingerprintVia(server('k'.repeat(64)), d, reach, 'pw');
  const kept = JSON.stringify(fingerprintData(fp));
  for (const guess of ['(4711)', '(4712)'])
    assert.not.ok(kept.includes(serverChecksum([guess])), `the checksum of ${guess} is in ${kept}`);
  assert.is(fp.perDb.app?.tables['public.pin']?.rows, 1, 'row counts stay');
  assert.match(fp.perDb.app?.tables['public.pin']?.checksum ?? '', /^k1:[0-9a-f]{32}$/);
  assert.equal(
    compareFingerprints(fp, await fingerprintVia(server('k'.repeat(64)), d, reach, 'pw')),
    [],
    'the same content under the same key',
  );
  const other = await fingerprintVia(server('j'.repeat(64)), d, reach, 'pw');
  assert.is.not(
    other.perDb.app?.tables['public.pin']?.checksum,
    fp.perDb.app?.tables['public.pin']?.checksum,
    "another namespace's key gives another value",
  );
});

test('keying: per database and table, content changes still show, already keyed stays; keyed against unkeyed is refused, never a false "changed"', async () => {
  const raw = await fingerprintVia(server(undefined), d, reach, 'pw');
  assert.is(
    raw.perDb.app?.tables['public.pin']?.checksum,
    serverChecksum(['(4711)']),
    "no key in the namespace: the server's checksum",
  );
  const a = keyChecksums(raw, 'key');
  assert.is(keyChecksums(a, 'key'), a);
  const changed: Fingerprint = structuredClone(raw);
  (changed.perDb.app as Fingerprint['perDb'][string]).tables['public.pin'] = {
    rows: 1,
    checksum: serverChecksum(['(4712)']),
  };
  assert.equal(compareFingerprints(a, keyChecksums(changed, 'key')), [
    'database app: table public.pin: content changed (rows 1)',
  ]);
  const moved: Fingerprint = { ...raw, perDb: { other: raw.perDb.app as Fingerprint['perDb'][string] } };
  assert.is.not(
    keyChecksums(moved, 'key').perDb.other?.tables['public.pin']?.checksum,
    a.perDb.app?.tables['public.pin']?.checksum,
    'the database is in the key',
  );
  assert.throws(() => compareFingerprints(a, raw), /keyed checksums and the other not/);
});

test('a fingerprint kept unkeyed (by an earlier release, before the namespace had its key) reads back keyed: a resumed run compares it with a fresh one', async () => {
  const raw = await fingerprintVia(server(undefined), d, reach, 'pw');
  const cluster = server('k'.repeat(64));
  await cluster.createObject({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'pgupgrade-fingerprint-db', namespace: 'ns' },
    ...fingerprintData(raw),
  });
  const stored = await loadFingerprint(cluster, 'ns', 'pgupgrade-fingerprint-db');
  assert.equal(compareFingerprints(stored as Fingerprint, await fingerprintVia(cluster, d, reach, 'pw')), []);
  assert.is(await loadFingerprint(cluster, 'ns', 'none'), undefined);
});

test.run();
