import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import type { Major } from '../../support/pg/fetch.ts';
import { ensurePostgres, MAJORS } from '../../support/pg/fetch.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { SEED_ROLES, seedCluster } from '../../support/pg/seed.ts';
import { initCluster, makeVolume, runOn, startServer, BITNAMI, type PgServer } from '../../support/pg/server.ts';
import { checksumsOn, clearPg17Attver, upgradeInSandbox, type UpgradeMode } from '../../support/pg/upgrade.ts';
import { onTeardown } from '../../support/teardown.ts';
import { compareShapes, parseShape, SHAPE_CLUSTER_SQL, SHAPE_DB_SQL, type Shape } from '../../../src/postgres/shape.ts';
import { fingerprintedDatabases } from '../../../src/postgres/fingerprint.ts';

/** The plugin's shape (every relation and its size), read with its own queries. */
async function shapeOf(sql: PgServer['sql']): Promise<Shape> {
  const clusterJson = (await sql('postgres', SHAPE_CLUSTER_SQL)).trim();
  const perDb = new Map<string, string>();
  for (const db of fingerprintedDatabases(clusterJson)) perDb.set(db, (await sql(db, SHAPE_DB_SQL)).trim());
  return parseShape(clusterJson, perDb);
}

const test = suite('pg_upgrade in the sandbox, on the Bitnami paths, as UID 1001');

test('set-up: the nine majors are there (timed; a warm cache is fast)', async () => {
  const started = Date.now();
  for (const m of MAJORS) await ensurePostgres(m);
  const s = (Date.now() - started) / 1000;
  console.log(`\n  pg set-up: ${s.toFixed(1)} s`);
});

async function seeded(
  major: Major,
  opts: { checksums?: boolean; pgbenchScale?: number } = {},
): Promise<{ volume: string; server: PgServer; before: Fingerprint }> {
  const volume = makeVolume(`pg${major}`);
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  await initCluster(major, volume, { checksums: opts.checksums });
  const server = await startServer(major, volume);
  onTeardown(() => server.stop());
  await seedCluster(server.sql, {
    rows: 300,
    pgbenchScale: opts.pgbenchScale,
    pgbench: async (db, scale) =>
      void (await runOn(
        [major],
        volume,
        [
          'pgbench',
          '-i',
          '-q',
          '-s',
          String(scale),
          '-h',
          '127.0.0.1',
          '-p',
          String(server.port),
          '-U',
          'postgres',
          db,
        ],
        { PGPASSWORD: 'superuser-test-pass-7d3b' },
      )),
  });
  return { volume, server, before: await takeFingerprint(server.sql) };
}

async function assertLogins(server: PgServer): Promise<void> {
  for (const role of [SEED_ROLES.md5, SEED_ROLES.scram]) {
    const r = await server.psql('app1', role.name, role.password, 'SELECT count(*) FROM customers');
    assert.is(r.code, 0, `${role.name} could not log in over TCP: ${r.stderr}`);
    assert.is(r.stdout.trim(), '300');
  }
  const wrong = await server.psql('app1', SEED_ROLES.md5.name, 'not-the-password', 'SELECT 1');
  assert.is.not(wrong.code, 0, 'a wrong password is refused');
}

async function upgradeCase(from: Major, to: Major, mode: UpgradeMode, checksums = false): Promise<void> {
  const { volume, server, before } = await seeded(from, { checksums, pgbenchScale: 1 });
  if (from === 17 && to >= 18) await clearPg17Attver(server.sql, Object.keys(before.databases));
  const shape = await shapeOf(server.sql);
  await server.stop();
  const { ms } = await upgradeInSandbox(from, to, volume, mode);
  assert.ok(fs.existsSync(`${volume}/data-${from}.preupgrade`), 'the old directory is kept');
  assert.is(fs.readFileSync(`${volume}/data/PG_VERSION`, 'utf8').trim(), String(to));
  assert.is(
    fs.statSync(`${volume}/data`).uid,
    BITNAMI.uid,
    'the new data directory belongs to UID 1001, with no chown',
  );
  const after = await startServer(to, volume);
  try {
    assert.match(await after.sql('postgres', 'SHOW server_version'), new RegExp(`^${to}\\.`));
    // What the upgrade's verify relies on to let the applications return early: pg_upgrade carries every relation
    // with its size, and the catalog parts, unchanged.
    assert.equal(compareShapes(shape, await shapeOf(after.sql)), [], 'the shape is equal after pg_upgrade');
    assert.ok(
      Object.values(shape.perDb).some((d) => Object.keys(d.relations).length > 5),
      'the shape lists the relations',
    );
    assert.equal(compareFingerprints(before, await takeFingerprint(after.sql)), []);
    await assertLogins(after);
  } finally {
    await after.stop();
  }
  assert.is(await checksumsOn(to, volume), checksums, 'data checksums are as the old cluster had them');
  console.log(`\n  ${from}→${to} ${mode}${checksums ? ' (checksums on)' : ''}: pg_upgrade ${(ms / 1000).toFixed(1)} s`);
}

test('13 → 15 --link', () => upgradeCase(13, 15, 'link'));
test('15 → 17 --link', () => upgradeCase(15, 17, 'link'));
test('17 → 18 --link, data checksums on in the old cluster', () => upgradeCase(17, 18, 'link', true));
test('13 → 17 --link, directly', () => upgradeCase(13, 17, 'link'));
test('13 → 15 copy mode (15 copies by default: no --copy flag)', () => upgradeCase(13, 15, 'copy'));
test('15 → 17 --copy', () => upgradeCase(15, 17, 'copy'));
// 12's pg_resetwal -n is the test environment's stand-in (docs/test-environment.md); its pg_controldata is 14's.
test('12 → 14 --link', () => upgradeCase(12, 14, 'link'));
test('12 → 16 --copy', () => upgradeCase(12, 16, 'copy'));
test('12 → 17 --link', () => upgradeCase(12, 17, 'link'));
test('14 → 18 --link', () => upgradeCase(14, 18, 'link'));
test('16 → 18 --swap', () => upgradeCase(16, 18, 'swap'));
test('14 → 16 --copy', () => upgradeCase(14, 16, 'copy'));

test.run();
