import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UPGRADE_JOB_SCRIPT } from '../../../src/postgres/upgrade-script.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { BITNAMI, initCluster, makeVolume, runOn, startServer } from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';

// The upgrade Job's own script, run by sh with real pg_upgrade 13 → 15 in the sandbox, on paths and names with
// spaces: every value must reach initdb, pg_upgrade and pg_ctl as one word.
const test = suite('the upgrade Job script with spaces in PGDATA and in the install user');

const INITDB = ['--encoding=UTF8', '--locale=C.UTF-8'];

function jobScript(volume: string, pgdata: string, user: string): Promise<string> {
  return runOn([13, 15], volume, ['sh', '-c', UPGRADE_JOB_SCRIPT, 'pgupgrade', pgdata, '13', '15', 'link', user, 'stats_temp_directory', ...INITDB]);
}

test('PGDATA "/bitnami/postgresql/my data/pgdata": upgraded, data equal, config carried over', async () => {
  const volume = makeVolume('jobspace');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  const data = `${BITNAMI.mount}/my data/pgdata`;
  await initCluster(13, volume, { data });
  const conf = path.join(volume, 'my data', 'pgdata', 'postgresql.conf');
  fs.appendFileSync(conf, "\nstats_temp_directory = 'pg_stat_tmp'\n");
  const old = await startServer(13, volume, data);
  await seedCluster(old.sql, { rows: 100 });
  const before = await takeFingerprint(old.sql);
  await old.stop();
  const out = await jobScript(volume, data, 'postgres');
  assert.match(out, /pgupgrade: done: .*my data\/pgdata is PostgreSQL 15/);
  assert.match(out, 'postgresql.conf: stats_temp_directory was removed in PostgreSQL 15; commented out');
  assert.is(fs.readFileSync(path.join(volume, 'my data', 'pgdata', 'PG_VERSION'), 'utf8').trim(), '15');
  const after = await startServer(15, volume, data);
  try {
    assert.equal(compareFingerprints(before, await takeFingerprint(after.sql)), []);
  } finally {
    await after.stop();
  }
});

test('an install user with a space ("pg admin"): initdb and pg_upgrade get it as one word', async () => {
  const volume = makeVolume('jobuser');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  await initCluster(13, volume, { extra: ['-U', 'pg admin'] });
  const out = await jobScript(volume, BITNAMI.data, 'pg admin');
  assert.match(out, /pgupgrade: done: .* is PostgreSQL 15/);
  assert.is(fs.readFileSync(path.join(volume, 'data', 'PG_VERSION'), 'utf8').trim(), '15');
});

test.run();
