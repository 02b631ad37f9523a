import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROLLBACK_JOB_SCRIPT } from '../../../src/postgres/rollback-script.ts';
import { UPGRADE_JOB_SCRIPT } from '../../../src/postgres/upgrade-script.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { BITNAMI, initCluster, makeVolume, runOn, startServer } from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';

// The upgrade Job's own script, run by sh with real pg_upgrade 13 → 15 in the sandbox, on paths and names with
// spaces: every value must reach initdb, pg_upgrade and pg_ctl as one word.
const test = suite('the upgrade Job script with spaces in PGDATA and in the install user');

const INITDB = ['--encoding=UTF8', '--locale=C.UTF-8'];

function jobScript(volume: string, pgdata: string, user: string, root = ''): Promise<string> {
  return runOn([13, 15], volume, ['sh', '-c', UPGRADE_JOB_SCRIPT, 'pgupgrade', pgdata, '13', '15', 'link', user, 'stats_temp_directory', root, ...INITDB]);
}

test('PGDATA "/bitnami/postgresql/my data/pgdata": upgraded, data equal, config and its includes carried over, removed settings in any case commented out', async () => {
  const volume = makeVolume('jobspace');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  const data = `${BITNAMI.mount}/my data/pgdata`;
  await initCluster(13, volume, { data });
  // A removed setting in every place it can hide: another case, an included file, a nested include, include_dir.
  const pgdata = path.join(volume, 'my data', 'pgdata');
  fs.appendFileSync(path.join(pgdata, 'postgresql.conf'),
    "\nSTATS_TEMP_DIRECTORY = 'pg_stat_tmp'\ninclude 'conf.d/extra.conf'\nINCLUDE_DIR more\ninclude_if_exists = 'missing.conf'\n");
  fs.mkdirSync(path.join(pgdata, 'conf.d'));
  fs.mkdirSync(path.join(pgdata, 'more'));
  fs.writeFileSync(path.join(pgdata, 'conf.d', 'extra.conf'), "Stats_Temp_Directory = 'pg_stat_tmp'\ninclude 'nested.conf'\n");
  fs.writeFileSync(path.join(pgdata, 'conf.d', 'nested.conf'), "stats_temp_directory 'pg_stat_tmp'\nmaintenance_work_mem = '77MB'\n");
  fs.writeFileSync(path.join(pgdata, 'more', 'a.conf'), "stats_temp_directory='pg_stat_tmp'\nwork_mem = '7MB'\n");
  const old = await startServer(13, volume, data);
  await seedCluster(old.sql, { rows: 100 });
  const before = await takeFingerprint(old.sql);
  await old.stop();
  const out = await jobScript(volume, data, 'postgres');
  assert.match(out, /pgupgrade: done: .*my data\/pgdata is PostgreSQL 15/);
  for (const f of ['postgresql.conf', 'conf.d/extra.conf', 'conf.d/nested.conf', 'more/a.conf']) {
    assert.match(out, `${f}: stats_temp_directory was removed in PostgreSQL 15; commented out`);
  }
  assert.is(fs.readFileSync(path.join(volume, 'my data', 'pgdata', 'PG_VERSION'), 'utf8').trim(), '15');
  const after = await startServer(15, volume, data);
  try {
    assert.equal(compareFingerprints(before, await takeFingerprint(after.sql)), []);
    assert.is((await after.sql('postgres', 'SHOW work_mem')).trim(), '7MB', 'the include_dir file came over');
    assert.is((await after.sql('postgres', 'SHOW maintenance_work_mem')).trim(), '77MB', 'the nested include came over');
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

test('PGDATA at the root of the volume: the cluster moves into 15/docker, is upgraded there, and a rollback puts it back at the root', async () => {
  const volume = makeVolume('jobroot');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  // initdb wants an empty directory, and the sandbox's volume holds its password file: made aside, then moved up.
  await initCluster(13, volume, { data: `${BITNAMI.mount}/init` });
  for (const e of fs.readdirSync(path.join(volume, 'init'))) fs.renameSync(path.join(volume, 'init', e), path.join(volume, e));
  fs.rmdirSync(path.join(volume, 'init'));
  fs.mkdirSync(path.join(volume, 'lost+found'));
  // As the official entrypoint leaves the root of its volume when it is PGDATA.
  fs.chmodSync(volume, 0o700);
  const old = await startServer(13, volume, BITNAMI.mount);
  await seedCluster(old.sql, { rows: 50 });
  const before = await takeFingerprint(old.sql);
  await old.stop();
  const pgdata = `${BITNAMI.mount}/15/docker`;
  const out = await jobScript(volume, pgdata, 'postgres', BITNAMI.mount);
  assert.match(out, `moved the cluster at the root of the volume (${BITNAMI.mount}) into ${pgdata}`);
  assert.match(out, `done: ${pgdata} is PostgreSQL 15`);
  assert.equal(fs.readdirSync(volume).sort(), ['15', 'lost+found'], 'nothing of the old cluster is left at the root');
  assert.is(fs.readFileSync(path.join(volume, '15', 'data-13.preupgrade', 'PG_VERSION'), 'utf8').trim(), '13');
  const again = await jobScript(volume, pgdata, 'postgres', BITNAMI.mount);
  assert.match(again, `${pgdata} is already PostgreSQL 15`, 'a re-run moves nothing');
  const rb = await runOn([13, 15], volume, ['sh', '-c', ROLLBACK_JOB_SCRIPT, 'pgupgrade', pgdata, '13', '15', BITNAMI.mount]);
  assert.match(rb, `moved the old cluster back to the root of the volume: ${pgdata} → ${BITNAMI.mount}`);
  assert.match(rb, `done: ${BITNAMI.mount} is PostgreSQL 13 again`);
  assert.not.ok(fs.existsSync(path.join(volume, '15')), 'the new layout is gone');
  const back = await startServer(13, volume, BITNAMI.mount);
  try {
    assert.equal(compareFingerprints(before, await takeFingerprint(back.sql)), []);
  } finally {
    await back.stop();
  }
});

test.run();
