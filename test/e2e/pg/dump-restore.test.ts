import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { SEED_DATABASES, SEED_ROLES, seedCluster } from '../../support/pg/seed.ts';
import { BITNAMI, TEST_SUPERUSER_PASSWORD, initCluster, makeVolume, runOn, startServer } from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';

const test = suite('logical dump/restore between two sandboxed servers of different majors');

test('pg_dump -Fd -j2 of 13, pg_restore -j2 into 17: equal fingerprints, both roles log in', async () => {
  const [va, vb] = [makeVolume('dump-src'), makeVolume('dump-dst')];
  onTeardown(() => [va, vb].forEach((v) => fs.rmSync(v, { recursive: true, force: true })));
  await initCluster(13, va);
  await initCluster(17, vb);
  const [a, b] = [await startServer(13, va), await startServer(17, vb)];
  onTeardown(() => a.stop());
  onTeardown(() => b.stop());
  await seedCluster(a.sql, { rows: 300 });
  const before = await takeFingerprint(a.sql);
  const env = { PGPASSWORD: TEST_SUPERUSER_PASSWORD, PGUSER: 'postgres', PGHOST: '127.0.0.1' };
  // The newer major's client tools, as the PostgreSQL docs advise; the dump lands on the target's volume.
  const globals = await runOn([17], vb, ['pg_dumpall', '--globals-only', '-p', String(a.port)], env);
  await runOn([17], vb, ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=0', '-p', String(b.port), '-d', 'postgres', '-f', '-'], env, globals);
  fs.mkdirSync(`${vb}/dump`);
  fs.chownSync(`${vb}/dump`, BITNAMI.uid, BITNAMI.gid);
  const started = Date.now();
  for (const db of [...SEED_DATABASES, 'postgres']) {
    const dir = `${BITNAMI.mount}/dump/${db}`;
    await runOn([17], vb, ['pg_dump', '-Fd', '-j', '2', '-p', String(a.port), '-d', db, '-f', dir], env);
    const target = db === 'postgres' ? ['-d', 'postgres'] : ['-C', '-d', 'postgres'];
    await runOn([17], vb, ['pg_restore', '-j', '2', '--exit-on-error', '-p', String(b.port), ...target, dir], env);
  }
  const after = await takeFingerprint(b.sql);
  assert.equal(compareFingerprints(before, after, { extensionUpdates: true }), []);
  assert.is(after.perDb.app1?.extensions.hstore, '1.8', 'CREATE EXTENSION installed the target major\'s default version');
  for (const role of [SEED_ROLES.md5, SEED_ROLES.scram]) {
    const r = await b.psql('app2', role.name, role.password, 'SELECT count(*) FROM orders');
    assert.is(r.code, 0, r.stderr);
  }
  console.log(`\n  13→17 dump/restore (-j2): ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test.run();
