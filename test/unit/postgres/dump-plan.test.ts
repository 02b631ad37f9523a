import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chooseJobs,
  loadServerArgs,
  loadSettings,
  loadSettingsSql,
  maintenanceWorkMem,
  putBackSql,
  settingsToPutBack,
  shouldRestartAfterLoad,
  tuningLeftNote,
} from '../../../src/postgres/dump-plan.ts';

const test = suite("the dump method's load: the target tuned for it, put back after, --jobs from the pods' CPUs");

test('the load turns off what makes a server durable, and what fights a bulk load', () => {
  const s = Object.fromEntries(loadSettings(undefined, 2).map((x) => [x.name, x.value]));
  assert.equal(
    {
      fsync: s.fsync,
      synchronous_commit: s.synchronous_commit,
      full_page_writes: s.full_page_writes,
      wal_level: s.wal_level,
      max_wal_senders: s.max_wal_senders,
      archive_mode: s.archive_mode,
      autovacuum: s.autovacuum,
    },
    {
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      wal_level: 'minimal',
      max_wal_senders: '0',
      archive_mode: 'off',
      autovacuum: 'off',
    },
  );
  assert.is(s.max_locks_per_transaction, '256', 'room for the locks of a database loaded in one transaction');
  const big = Object.fromEntries(loadSettings(undefined, 2, 60_000).map((x) => [x.name, x.value]));
  assert.ok(
    Number(big.max_locks_per_transaction) * 100 >= 61_000 && Number(big.max_locks_per_transaction) % 64 === 0,
    `60,000 relations in one transaction fit: ${big.max_locks_per_transaction}`,
  );
});

test('every setting of the load is put back, and wal_level makes that a restart', () => {
  const s = loadSettings(undefined, 2);
  assert.equal(settingsToPutBack(s).sort(), s.map((x) => x.name).sort());
  assert.ok(shouldRestartAfterLoad(s));
  assert.not.ok(shouldRestartAfterLoad(s.filter((x) => !x.restart)));
  assert.match(loadSettingsSql(s), "ALTER SYSTEM SET wal_level = 'minimal';");
  assert.match(putBackSql(s), 'ALTER SYSTEM RESET fsync;');
  assert.is(putBackSql(s).split('\n').length, s.length + 2);
  assert.match(
    putBackSql(s),
    /SELECT pg_catalog\.pg_reload_conf\(\);\nCHECKPOINT;$/,
    'the pages written out once fsync is back, before the sync and the restart',
  );
  assert.equal(loadServerArgs(s).slice(0, 2), ['-c', 'fsync=off']);
});

// Issue 24, 4.7: an existing --target's own ALTER SYSTEM settings were RESET after the load (WAL archiving silently off).
test("put back: the target's own ALTER SYSTEM values as they were before the tuning, only the others RESET", () => {
  const s = loadSettings(undefined, 2);
  const sql = putBackSql(s, [
    { name: 'archive_mode', value: 'on' },
    { name: 'max_wal_size', value: '3GB' },
  ]).split('\n');
  assert.ok(sql.includes("ALTER SYSTEM SET archive_mode = E'on';"), sql.join('\n'));
  assert.ok(sql.includes("ALTER SYSTEM SET max_wal_size = E'3GB';"));
  assert.not.ok(sql.includes('ALTER SYSTEM RESET archive_mode;'));
  assert.ok(sql.includes('ALTER SYSTEM RESET fsync;') && sql.includes('ALTER SYSTEM RESET wal_level;'));
  assert.is(sql.length, s.length + 2);
});

test("a run stopped with the load's tuning on says fsync and full_page_writes are off, and the command that puts them back", () => {
  const note = tuningLeftNote({
    ns: 'db',
    target: 'deploy/pg14',
    container: 'postgres',
    superuser: 'admin',
    prior: [{ name: 'fsync', value: 'on' }],
    resume: 'kubectl pgupgrade upgrade -n db deploy/postgres --to 14 --method dump',
  });
  assert.match(note, 'fsync and full_page_writes are off on deploy/pg14');
  assert.match(
    note,
    'A resume puts them back after the load (kubectl pgupgrade upgrade -n db deploy/postgres --to 14 --method dump)',
  );
  assert.match(
    note,
    `kubectl -n db exec deploy/pg14 -c postgres -- psql -X -U admin -d postgres -c "ALTER SYSTEM SET fsync = E'on'" ` +
      '-c "ALTER SYSTEM RESET full_page_writes" -c "SELECT pg_catalog.pg_reload_conf()"',
  );
});

test('maintenance_work_mem: a quarter of the memory limit shared by the jobs, between 64 MiB and 2 GiB; 256 MB unknown', () => {
  assert.is(maintenanceWorkMem({ limits: { memory: '4Gi' } }, 2), '512MB');
  assert.is(maintenanceWorkMem({ requests: { memory: '2Gi' } }, 1), '512MB');
  assert.is(
    maintenanceWorkMem({ requests: { memory: '1Gi' }, limits: { memory: '8Gi' } }, 1),
    '2048MB',
    'the limit, not the request',
  );
  assert.is(maintenanceWorkMem({ limits: { memory: '256Mi' } }, 4), '64MB');
  assert.is(maintenanceWorkMem({ limits: { memory: '64Gi' } }, 1), '2048MB');
  assert.is(maintenanceWorkMem(undefined, 2), '256MB');
  assert.is(
    loadSettings({ limits: { memory: '4Gi' } }, 2).find((x) => x.name === 'maintenance_work_mem')?.value,
    '512MB',
  );
});

test("--jobs: the smaller pod's CPUs (limit, else request), whole, 1 to 8; 2 when no pod says", () => {
  assert.is(chooseJobs(undefined, undefined), 2);
  assert.is(chooseJobs({ limits: { cpu: '4' } }, { limits: { cpu: '2' } }), 2);
  assert.is(chooseJobs({ requests: { cpu: '1500m' } }, undefined), 1);
  assert.is(chooseJobs({ requests: { cpu: '250m' } }, undefined), 1);
  assert.is(chooseJobs({ requests: { cpu: '2' }, limits: { cpu: '6' } }, {}), 6);
  assert.is(chooseJobs({ limits: { cpu: '64' } }, undefined), 8);
  assert.is(
    chooseJobs({ limits: { cpu: 'lots' } }, { requests: { cpu: '3' } }),
    3,
    'an unreadable quantity is ignored',
  );
});

test.run();
