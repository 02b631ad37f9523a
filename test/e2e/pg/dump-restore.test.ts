import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import type { Major } from '../../support/pg/fetch.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { SEED_DATABASES, SEED_ROLES, seedCluster } from '../../support/pg/seed.ts';
import { BITNAMI, TEST_SUPERUSER_PASSWORD, initCluster, makeVolume, runOn, startServer } from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';

const test = suite('logical dump/restore between two sandboxed servers of different majors');

/** pg_dumpall --globals-only, then pg_dump -Fd -j2 and pg_restore -j2 per database, with the target's client tools. */
async function dumpCase(from: Major, to: Major): Promise<void> {
  const [va, vb] = [makeVolume('dump-src'), makeVolume('dump-dst')];
  onTeardown(() => [va, vb].forEach((v) => fs.rmSync(v, { recursive: true, force: true })));
  await initCluster(from, va);
  await initCluster(to, vb);
  const [a, b] = [await startServer(from, va), await startServer(to, vb)];
  onTeardown(() => a.stop());
  onTeardown(() => b.stop());
  await seedCluster(a.sql, { rows: 300 });
  const before = await takeFingerprint(a.sql);
  const env = { PGPASSWORD: TEST_SUPERUSER_PASSWORD, PGUSER: 'postgres', PGHOST: '127.0.0.1' };
  // The newer major's client tools, as the PostgreSQL docs advise; the dump lands on the target's volume.
  const globals = await runOn([to], vb, ['pg_dumpall', '--globals-only', '-p', String(a.port)], env);
  await runOn([to], vb, ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=0', '-p', String(b.port), '-d', 'postgres', '-f', '-'], env, globals);
  fs.mkdirSync(`${vb}/dump`);
  fs.chownSync(`${vb}/dump`, BITNAMI.uid, BITNAMI.gid);
  const started = Date.now();
  for (const db of [...SEED_DATABASES, 'postgres']) {
    const dir = `${BITNAMI.mount}/dump/${db}`;
    await runOn([to], vb, ['pg_dump', '-Fd', '-j', '2', '-p', String(a.port), '-d', db, '-f', dir], env);
    const target = db === 'postgres' ? ['-d', 'postgres'] : ['-C', '-d', 'postgres'];
    await runOn([to], vb, ['pg_restore', '-j', '2', '--exit-on-error', '-p', String(b.port), ...target, dir], env);
  }
  const after = await takeFingerprint(b.sql);
  assert.equal(compareFingerprints(before, after, { extensionUpdates: true }), []);
  assert.is(after.perDb.app1?.extensions.hstore, '1.8', 'CREATE EXTENSION installed the target major\'s default version');
  for (const role of [SEED_ROLES.md5, SEED_ROLES.scram]) {
    const r = await b.psql('app2', role.name, role.password, 'SELECT count(*) FROM orders');
    assert.is(r.code, 0, r.stderr);
  }
  console.log(`\n  ${from}→${to} dump/restore (-j2): ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

test('pg_dump -Fd -j2 of 13, pg_restore -j2 into 17: equal fingerprints, both roles log in', () => dumpCase(13, 17));
// 10 and 11 are dump sources only here: no pg_controldata in reach reads their control files (README).
test('10 → 14 by 14\'s pg_dumpall, pg_dump and pg_restore: equal fingerprints, both roles log in', () => dumpCase(10, 14));
test('11 → 16 by 16\'s pg_dumpall, pg_dump and pg_restore: equal fingerprints, both roles log in', () => dumpCase(11, 16));

test.run();
