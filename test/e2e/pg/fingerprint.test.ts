import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import {
  FINGERPRINT_CLUSTER_SQL,
  FINGERPRINT_DB_SQL,
  fingerprintedDatabases,
  parseFingerprint,
} from '../../../src/postgres/fingerprint.ts';
import type { Major } from '../../support/pg/fetch.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { initCluster, makeVolume, startServer } from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';
import { waitFor } from '../../support/process.ts';

const test = suite('fingerprints catch a changed value');

test('one value changed in one row, same row count: the compare names the database and table', async () => {
  const volume = makeVolume('fp');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  await initCluster(15, volume);
  const server = await startServer(15, volume);
  onTeardown(() => server.stop());
  await seedCluster(server.sql, { rows: 100 });
  const before = await takeFingerprint(server.sql);
  assert.equal(compareFingerprints(before, await takeFingerprint(server.sql)), [], 'a fingerprint is stable');
  await server.sql('app2', "UPDATE orders SET note = note || 'x' WHERE id = 42");
  const diff = compareFingerprints(before, await takeFingerprint(server.sql));
  assert.equal(diff, ['database app2: table public.orders: content changed (rows 300)']);
  await server.sql('app1', "SELECT nextval('invoice_seq')");
  assert.ok(
    compareFingerprints(before, await takeFingerprint(server.sql)).includes(
      'database app1: sequence public.invoice_seq: 1006 → 1007',
    ),
  );
});

for (const major of [13, 18] as Major[]) {
  test(`PostgreSQL ${major}: the plugin's one-statement fingerprint equals the tests' query-by-query one`, async () => {
    const volume = makeVolume(`fp${major}`);
    onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
    await initCluster(major, volume);
    const server = await startServer(major, volume);
    onTeardown(() => server.stop());
    await seedCluster(server.sql, { rows: 50 });
    for (const name of ['host=127.0.0.1 port=1 dbname=x', 'two\nlines']) {
      await server.sql('postgres', `CREATE DATABASE "${name}"`);
      await server.sql(name, 'CREATE TABLE t AS SELECT 1 AS x');
    }
    // Another session's temporary table, index and view: no session but its own can read them.
    const holder = server
      .sql(
        'app1',
        `CREATE TEMP TABLE held AS SELECT 1 AS x; CREATE INDEX ON held (x); CREATE TEMP VIEW held_v AS SELECT x FROM held;
      SELECT pg_sleep(60)`,
      )
      .catch(() => 'ended');
    await waitFor(
      'the temporary table',
      async () => (await server.sql('app1', `SELECT count(*) FROM pg_class WHERE relpersistence = 't'`)).trim() !== '0',
      20_000,
    );
    const clusterJson = (await server.sql('postgres', FINGERPRINT_CLUSTER_SQL)).trim();
    const perDb = new Map<string, string>();
    for (const db of fingerprintedDatabases(clusterJson))
      perDb.set(db, (await server.sql(db, FINGERPRINT_DB_SQL)).trim());
    const mine = parseFingerprint(clusterJson, perDb);
    const theirs = await takeFingerprint(server.sql);
    assert.equal(compareFingerprints(theirs, mine), []);
    assert.ok(Object.keys(mine.perDb.app2?.tables ?? {}).includes('public.orders'), 'the seeded tables are in it');
    assert.ok((mine.perDb.app1?.largeObjects.count ?? 0) > 0, 'large objects are counted');
    assert.not.ok(JSON.stringify(mine).includes('held'), 'temporary objects are left out');
    assert.is(theirs.perDb['two\nlines']?.tables['public.t']?.rows, 1, 'a name with a newline is one database');
    await server.sql(
      'postgres',
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()`,
    );
    await holder;
  });
}

test.run();
