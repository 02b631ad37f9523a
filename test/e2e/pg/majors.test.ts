import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensurePostgres, MAJORS } from '../../support/pg/fetch.ts';
import { initCluster, makeVolume, startServer } from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';

const test = suite('every major 10..18 runs in the sandbox on the Bitnami paths, as UID 1001, with its contrib');

// What each extension must answer once created: proof that its library loaded (uuid-ossp needs libossp-uuid,
// dblink the libpq beside it; it connects back over the socket).
const PROBES: Record<string, (port: number) => string> = {
  hstore: () => "SELECT ('a=>1'::hstore) -> 'a'",
  pgcrypto: () =>
    "SELECT encode(digest('x', 'sha256'), 'hex') = '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'",
  'uuid-ossp': () => "SELECT uuid_generate_v5(uuid_ns_url(), 'x')::text",
  dblink: (port) =>
    `SELECT x FROM dblink('host=/tmp port=${port} dbname=postgres user=postgres', 'SELECT 42') AS t(x int)`,
};
const EXPECTED: Record<string, string> = {
  hstore: '1',
  pgcrypto: 't',
  'uuid-ossp': '4cd605e7-afa2-5360-b5b9-c5e9fb5c76f4',
  dblink: '42',
};

for (const major of MAJORS) {
  test(`PostgreSQL ${major}: initdb, start, a query and contrib`, async () => {
    let started = Date.now();
    const inst = await ensurePostgres(major);
    const first = Date.now() - started;
    started = Date.now();
    await ensurePostgres(major);
    console.log(
      `\n  PostgreSQL ${major}: ensurePostgres ${(first / 1000).toFixed(1)} s, again ${((Date.now() - started) / 1000).toFixed(2)} s`,
    );
    const volume = makeVolume(`pg${major}`);
    onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
    await initCluster(major, volume);
    const server = await startServer(major, volume);
    try {
      assert.match(await server.sql('postgres', 'SHOW server_version'), new RegExp(`^${major}\\.`));
      assert.is((await server.sql('postgres', 'SELECT sum(g) FROM generate_series(1, 100) g')).trim(), '5050');
      const available = Object.keys(PROBES).filter((e) =>
        fs.existsSync(path.join(inst.shareDir, 'extension', `${e}.control`)),
      );
      for (const ext of ['hstore', 'pgcrypto']) assert.ok(available.includes(ext), `${ext} ships with ${major}`);
      for (const ext of available) {
        await server.sql('postgres', `CREATE EXTENSION "${ext}"`);
        assert.is(
          (await server.sql('postgres', PROBES[ext]!(server.port))).trim(),
          EXPECTED[ext],
          `${ext} on ${major}`,
        );
      }
      console.log(`  PostgreSQL ${major}: ${available.join(', ')} work`);
    } finally {
      await server.stop();
    }
  });
}

test.run();
