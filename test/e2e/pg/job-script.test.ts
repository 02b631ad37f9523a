import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROLLBACK_JOB_SCRIPT } from '../../../src/postgres/rollback-script.ts';
import { UPGRADE_JOB_SCRIPT } from '../../../src/postgres/upgrade-script.ts';
import { compareFingerprints, takeFingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { BITNAMI, bitnamiSpec, initCluster, makeVolume, runOn, startServer } from '../../support/pg/server.ts';
import { execInSandbox, startSandbox } from '../../support/sandbox/bwrap.ts';
import { onTeardown } from '../../support/teardown.ts';

// The upgrade Job's own script, run by sh with real pg_upgrade 13 → 15 in the sandbox, on paths and names with
// spaces: every value must reach initdb, pg_upgrade and pg_ctl as one word.
const test = suite('the upgrade Job script with spaces in PGDATA and in the install user');

const INITDB = ['--encoding=UTF8', '--locale=C.UTF-8'];

function jobScript(volume: string, pgdata: string, user: string, root = ''): Promise<string> {
  return runOn([13, 15], volume, [
    'sh',
    '-c',
    UPGRADE_JOB_SCRIPT,
    'pgupgrade',
    pgdata,
    '13',
    '15',
    'link',
    user,
    'stats_temp_directory',
    root,
    '', // max_locks_per_transaction: the cluster's own
    ...INITDB,
  ]);
}

test('PGDATA "/bitnami/postgresql/my data/pgdata": upgraded, data equal, config and its includes carried over, removed settings in any case commented out', async () => {
  const volume = makeVolume('jobspace');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  const data = `${BITNAMI.mount}/my data/pgdata`;
  await initCluster(13, volume, { data });
  // A removed setting in every place it can hide: another case, an included file, a nested include, include_dir.
  const pgdata = path.join(volume, 'my data', 'pgdata');
  fs.appendFileSync(
    path.join(pgdata, 'postgresql.conf'),
    "\nSTATS_TEMP_DIRECTORY = 'pg_stat_tmp'\ninclude 'conf.d/extra.conf'\nINCLUDE_DIR more\ninclude_if_exists = 'missing.conf'\n",
  );
  fs.mkdirSync(path.join(pgdata, 'conf.d'));
  fs.mkdirSync(path.join(pgdata, 'more'));
  fs.writeFileSync(
    path.join(pgdata, 'conf.d', 'extra.conf'),
    "Stats_Temp_Directory = 'pg_stat_tmp'\ninclude 'nested.conf'\n",
  );
  fs.writeFileSync(
    path.join(pgdata, 'conf.d', 'nested.conf'),
    "stats_temp_directory 'pg_stat_tmp'\nmaintenance_work_mem = '77MB'\n",
  );
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
    assert.is(
      (await after.sql('postgres', 'SHOW maintenance_work_mem')).trim(),
      '77MB',
      'the nested include came over',
    );
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
  for (const e of fs.readdirSync(path.join(volume, 'init')))
    fs.renameSync(path.join(volume, 'init', e), path.join(volume, e));
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
  const rb = await runOn([13, 15], volume, [
    'sh',
    '-c',
    ROLLBACK_JOB_SCRIPT,
    'pgupgrade',
    pgdata,
    '13',
    '15',
    BITNAMI.mount,
  ]);
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

const HELD = '.pgupgrade-held-13';

/** What another pod's launcher does on PGDATA: the server itself, and the entrypoints' mkdir -p then initdb. */
async function strayStarts(volume: string): Promise<Array<{ code: number; out: string }>> {
  const tries = [
    [
      `/usr/lib/postgresql/13/bin/postgres`,
      '-D',
      BITNAMI.data,
      '-c',
      'listen_addresses=',
      '-c',
      'unix_socket_directories=/tmp',
    ],
    ['sh', '-c', `mkdir -p "${BITNAMI.data}" && /usr/lib/postgresql/13/bin/initdb -D "${BITNAMI.data}"`],
  ];
  return Promise.all(
    tries.map(async (command) => {
      const spec = await bitnamiSpec([13], volume, command);
      try {
        const r = await execInSandbox(spec);
        return { code: r.code, out: r.stdout + r.stderr };
      } finally {
        fs.rmSync(spec.scratchDir, { recursive: true, force: true });
      }
    }),
  );
}

/** Seeds a 13 cluster at the Bitnami path and returns its fingerprint, the server stopped. */
async function seeded(volume: string) {
  await initCluster(13, volume);
  const old = await startServer(13, volume);
  await seedCluster(old.sql, { rows: 50 });
  const before = await takeFingerprint(old.sql);
  await old.stop();
  return before;
}

test('a Job killed while it holds the directory leaves it held: another server cannot start there nor initdb, and a re-run resumes', async () => {
  const volume = makeVolume('jobhold');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  const before = await seeded(volume);
  const spec = await bitnamiSpec([13, 15], volume, [
    'bash',
    '-c',
    '"$@"; exit $?',
    'bash',
    'sh',
    '-c',
    UPGRADE_JOB_SCRIPT,
    'pgupgrade',
    BITNAMI.data,
    '13',
    '15',
    'link',
    'postgres',
    'stats_temp_directory',
    '',
    '',
    ...INITDB,
  ]);
  const proc = startSandbox(spec);
  let out = '';
  // Killed the moment it says so: during its initdb, before pg_upgrade starts a server.
  proc.stdout.on('data', (d: Buffer) => {
    out += d;
    if (out.includes('pgupgrade: holding')) proc.signal('SIGKILL');
  });
  await proc.exited;
  assert.match(out, 'pgupgrade: holding', out);
  assert.not.match(out, 'pgupgrade: done', 'killed before it finished');
  fs.rmSync(spec.scratchDir, { recursive: true, force: true });
  const data = path.join(volume, 'data');
  assert.ok(fs.statSync(data).isFile(), 'PGDATA is the hold file');
  assert.match(fs.readFileSync(data, 'utf8'), /kubectl-pgupgrade holds this data directory[\s\S]*--rollback/);
  assert.is(fs.readFileSync(path.join(volume, HELD, 'PG_VERSION'), 'utf8').trim(), '13');
  for (const stray of await strayStarts(volume)) assert.not.equal(stray.code, 0, stray.out);
  assert.ok(fs.statSync(data).isFile(), 'nothing replaced the hold');
  assert.not.ok(fs.existsSync(path.join(volume, HELD, 'postmaster.pid')), 'no server ran on the held cluster');
  const again = await jobScript(volume, BITNAMI.data, 'postgres');
  assert.match(again, 'is held by an earlier run of this Job');
  assert.match(again, /pgupgrade: done: .* is PostgreSQL 15/);
  assert.not.ok(fs.existsSync(path.join(volume, HELD)), 'the hold is gone');
  const after = await startServer(15, volume);
  try {
    assert.equal(compareFingerprints(before, await takeFingerprint(after.sql)), []);
  } finally {
    await after.stop();
  }
});

test('a failing pg_upgrade releases the hold: PGDATA is the old cluster again, as it was; a held directory that the rollback finds goes back', async () => {
  const volume = makeVolume('jobrelease');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  const before = await seeded(volume);
  // pg_upgrade refuses an install user that is not the cluster's: after the hold, before any transfer.
  const failed = await runOn([13, 15], volume, [
    'sh',
    '-c',
    `${UPGRADE_JOB_SCRIPT}`,
    'pgupgrade',
    BITNAMI.data,
    '13',
    '15',
    'link',
    'nobody here',
    'stats_temp_directory',
    '',
    '',
    ...INITDB,
  ]).then(
    () => '',
    (e: Error) => e.message,
  );
  assert.match(failed, 'exited 20');
  assert.match(failed, 'pgupgrade: holding');
  assert.match(failed, 'released the hold: /bitnami/postgresql/data is the old cluster again, as it was');
  assert.ok(fs.statSync(path.join(volume, 'data')).isDirectory());
  assert.not.ok(fs.existsSync(path.join(volume, HELD)));
  // A hold left by a killed Job (made here as hold makes it): the rollback puts the cluster back.
  fs.renameSync(path.join(volume, 'data'), path.join(volume, HELD));
  fs.writeFileSync(path.join(volume, 'data'), 'kubectl-pgupgrade holds this data directory\n');
  const rb = await runOn([13, 15], volume, [
    'sh',
    '-c',
    ROLLBACK_JOB_SCRIPT,
    'pgupgrade',
    BITNAMI.data,
    '13',
    '15',
    '',
  ]);
  assert.match(rb, `released the hold: ${BITNAMI.mount}/${HELD} → ${BITNAMI.data}`);
  assert.match(rb, 'is PostgreSQL 13 again');
  const back = await startServer(13, volume);
  try {
    assert.equal(compareFingerprints(before, await takeFingerprint(back.sql)), []);
  } finally {
    await back.stop();
  }
});

test('a hold stopped between its two renames (PGDATA gone, the cluster aside): the rollback puts it back; a re-run holds it again and upgrades; beside a new cluster, both refuse', async () => {
  const volume = makeVolume('jobhalf');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  const before = await seeded(volume);
  const data = path.join(volume, 'data');
  fs.renameSync(data, path.join(volume, HELD));
  const rb = await runOn([13, 15], volume, [
    'sh',
    '-c',
    ROLLBACK_JOB_SCRIPT,
    'pgupgrade',
    BITNAMI.data,
    '13',
    '15',
    '',
  ]);
  assert.match(rb, `released a hold that stopped half-way: ${BITNAMI.mount}/${HELD} → ${BITNAMI.data}`);
  assert.ok(fs.statSync(data).isDirectory());
  // Half-held again; a pod's entrypoint then made PGDATA and an empty cluster there: nobody guesses which is right.
  fs.renameSync(data, path.join(volume, HELD));
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, 'PG_VERSION'), '13\n');
  const refused = await runOn([13, 15], volume, [
    'sh',
    '-c',
    ROLLBACK_JOB_SCRIPT,
    'pgupgrade',
    BITNAMI.data,
    '13',
    '15',
    '',
  ]).then(
    () => '',
    (e: Error) => e.message,
  );
  assert.match(refused, 'exited 11');
  assert.match(refused, 'did a pod make a new cluster there?');
  const up = await jobScript(volume, BITNAMI.data, 'postgres').then(
    () => '',
    (e: Error) => e.message,
  );
  assert.match(up, 'exited 12');
  assert.ok(fs.existsSync(path.join(volume, HELD, 'PG_VERSION')), 'the old cluster is still aside, untouched');
  fs.rmSync(data, { recursive: true });
  const again = await jobScript(volume, BITNAMI.data, 'postgres');
  assert.match(again, 'stopped half-way through holding');
  assert.match(again, /pgupgrade: done: .* is PostgreSQL 15/);
  const after = await startServer(15, volume);
  try {
    assert.equal(compareFingerprints(before, await takeFingerprint(after.sql)), []);
  } finally {
    await after.stop();
  }
});

test.run();
