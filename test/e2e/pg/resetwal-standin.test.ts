import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PG_RESETWAL_STANDIN } from '../../support/pg/fetch-zonky.ts';
import { parseRows } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { BITNAMI, initCluster, makeVolume, runOn, startServer } from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';

const test = suite("the test environment's pg_resetwal -n stand-in for 12 answers what pg_upgrade reads, correctly");

/** `Label: value` lines of pg_resetwal -n (or pg_controldata) output. */
function fields(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .split('\n')
      .map((l) => /^([^:]+):\s+(.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!.trim()]),
  );
}

/** A stopped cluster of `major` that has seen some work (XIDs, OIDs, WAL past its first segment). */
async function workedCluster(major: 12 | 14): Promise<string> {
  const volume = makeVolume(`resetwal${major}`);
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  await initCluster(major, volume);
  const server = await startServer(major, volume);
  await seedCluster(server.sql, { rows: 200 });
  await server.sql(
    'postgres',
    'SELECT pg_switch_wal(); CHECKPOINT; CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g; SELECT pg_switch_wal()',
  );
  await server.stop();
  return volume;
}

// The labels pg_upgrade's controldata.c parses out of `pg_resetwal -n` (the checksum line matches on "checksum").
const PARSED = [
  'pg_control version number',
  'Catalog version number',
  "Latest checkpoint's NextXID",
  "Latest checkpoint's NextOID",
  "Latest checkpoint's NextMultiXactId",
  "Latest checkpoint's oldestXID",
  "Latest checkpoint's oldestMultiXid",
  "Latest checkpoint's NextMultiOffset",
  'First log segment after reset',
  'Float8 argument passing',
  'Maximum data alignment',
  'Database block size',
  'Blocks per segment of large relation',
  'WAL block size',
  'Bytes per WAL segment',
  'Maximum length of identifiers',
  'Maximum columns in an index',
  'Maximum size of a TOAST chunk',
  'Size of a large-object chunk',
  'Date/time type storage',
  'Data page checksum version',
];

test('on a 12 cluster: its answers equal what the 12 server itself reads from pg_control (pg_control_*())', async () => {
  const volume = await workedCluster(12);
  const standin = fields(await runOn([12], volume, ['pg_resetwal', '-n', BITNAMI.data], { LC_ALL: 'C' }));
  for (const label of PARSED) assert.ok(standin[label], `the stand-in answers "${label}"`);
  const server = await startServer(12, volume);
  let sys: string[], ckpt: string[], init: string[];
  try {
    // A cleanly stopped cluster starts without a checkpoint: the control file still holds the shutdown checkpoint.
    [sys] = parseRows(
      await server.sql(
        'postgres',
        'SELECT pg_control_version, catalog_version_no, system_identifier FROM pg_control_system()',
      ),
    ) as [string[]];
    [ckpt] = parseRows(
      await server.sql(
        'postgres',
        `SELECT timeline_id, next_xid, next_oid, next_multixact_id, next_multi_offset, oldest_xid,
      oldest_multi_xid, redo_wal_file FROM pg_control_checkpoint()`,
      ),
    ) as [string[]];
    [init] = parseRows(
      await server.sql(
        'postgres',
        `SELECT max_data_alignment, database_block_size, blocks_per_segment, wal_block_size,
      bytes_per_wal_segment, max_identifier_length, max_index_columns, max_toast_chunk_size, large_object_chunk_size,
      CASE WHEN float8_pass_by_value THEN 'by value' ELSE 'by reference' END, data_page_checksum_version FROM pg_control_init()`,
      ),
    ) as [string[]];
  } finally {
    await server.stop();
  }
  assert.equal(
    [standin['pg_control version number'], standin['Catalog version number'], standin['Database system identifier']],
    sys,
  );
  assert.equal(
    [
      'pg_control version number',
      'Catalog version number',
      "Latest checkpoint's TimeLineID",
      "Latest checkpoint's NextXID",
      "Latest checkpoint's NextOID",
      "Latest checkpoint's NextMultiXactId",
      "Latest checkpoint's NextMultiOffset",
      "Latest checkpoint's oldestXID",
      "Latest checkpoint's oldestMultiXid",
    ].map((l) => standin[l]),
    [...sys.slice(0, 2), ...ckpt.slice(0, 7)],
  );
  assert.equal(
    [
      'Maximum data alignment',
      'Database block size',
      'Blocks per segment of large relation',
      'WAL block size',
      'Bytes per WAL segment',
      'Maximum length of identifiers',
      'Maximum columns in an index',
      'Maximum size of a TOAST chunk',
      'Size of a large-object chunk',
      'Float8 argument passing',
      'Data page checksum version',
    ].map((l) => standin[l]),
    init,
  );
  assert.is(standin['pg_control version number'], '1201', 'a 12 control file, read as one');
  // pg_resetwal's rule: one past the highest of the REDO segment and every segment in pg_wal, on the checkpoint's timeline.
  const segs = [
    ckpt[7]!,
    ...fs.readdirSync(path.join(volume, 'data', 'pg_wal')).filter((f) => /^[0-9A-F]{24}$/.test(f)),
  ];
  const highest = segs
    .map((s) => BigInt(`0x${s.slice(8, 16)}`) * 256n + BigInt(`0x${s.slice(16)}`))
    .reduce((a, b) => (a > b ? a : b));
  const next = highest + 1n;
  const hex = (n: bigint) => n.toString(16).toUpperCase().padStart(8, '0');
  assert.is(standin['First log segment after reset'], `${hex(BigInt(ckpt[0]!))}${hex(next / 256n)}${hex(next % 256n)}`);
  assert.ok(standin['First log segment after reset']! > ckpt[7]!, "the new cluster's WAL starts past the old one's");
});

test('on a 14 cluster: its answers equal the real pg_resetwal 14 -n, line for line, on everything pg_upgrade reads', async () => {
  const volume = await workedCluster(14);
  const real = fields(
    await runOn([14], volume, ['/usr/lib/postgresql/14/bin/pg_resetwal', '-n', BITNAMI.data], { LC_ALL: 'C' }),
  );
  const standin = fields(
    await runOn(
      [14],
      volume,
      ['bash', '-s', '--', '-n', BITNAMI.data],
      { LC_ALL: 'C', PG_CONTROLDATA: '/usr/lib/postgresql/14/bin/pg_controldata' },
      fs.readFileSync(PG_RESETWAL_STANDIN, 'utf8'),
    ),
  );
  for (const label of PARSED) assert.is(standin[label], real[label], label);
  console.log(
    `\n  stand-in = pg_resetwal 14 -n on ${PARSED.length} fields; first segment after reset ${real['First log segment after reset']}`,
  );
});

test.run();
