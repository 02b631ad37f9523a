import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { lockCapacity, locksNeeded, maxLocksFor, verifyLocks, type LockTable } from '../../../src/postgres/locks.ts';
import { buildUpgradeJob } from '../../../src/manifests/upgrade-job.ts';

const test = suite("the lock table: what the schema dump takes of it, and pg_upgrade's servers given more");

/** PostgreSQL's defaults: 64 × (100 + 3 autovacuum workers + 1 + 8 workers + 10 WAL senders). */
const DEFAULT: LockTable = { max_locks: 64, connections: 100, prepared: 0, autovacuum: 3, workers: 8, senders: 10 };

test('the default table holds 7,808 locks; 15,000 tables with a primary key need more, and 17 counts no large objects', () => {
  assert.is(lockCapacity(DEFAULT), 7808);
  const tenants = [{ relations: 30_400, largeObjects: 10 }, { relations: 400 }];
  assert.is(locksNeeded(tenants, 15), 30_400 + 10 + 400 + 1000);
  assert.is(locksNeeded(tenants, 17), 30_400 + 400 + 1000);
  const raised = maxLocksFor(DEFAULT, locksNeeded(tenants, 15)) ?? 0;
  assert.ok(raised % 64 === 0 && raised * 100 >= 31_810 * 1.25, String(raised));
  assert.is(maxLocksFor(DEFAULT, 6400), undefined, 'what fits both the old server and initdb is left as it is');
  const wide = { ...DEFAULT, connections: 1000 };
  assert.ok(
    (maxLocksFor(wide, 20_000) ?? 0) * 100 >= 20_000,
    "the old server's table would hold them, initdb's would not: raised for both, over 100 sessions",
  );
  assert.is(maxLocksFor({ ...DEFAULT, max_locks: 4096 }, 20_000), 4096, "never below the cluster's own");
});

test("check FAILs before any downtime when the plugin's own reads would not fit; else says what the Job does", () => {
  const tenants = new Map([
    ['app', { relations: 30_400, tables: 15_200 }],
    ['postgres', { relations: 400 }],
  ]);
  const small = verifyLocks(DEFAULT, tenants, 15, 'link')[0];
  assert.is(small?.status, 'fail', 'the verification reads every relation at once: 30,800 > 7,808');
  assert.match(small?.found ?? '', 'reads every relation of every database at once, about 31000 locks');
  const setting = Number(/max_locks_per_transaction = (\d+)/.exec(small?.fix ?? '')?.[1]);
  assert.ok(setting * 122 >= 31_000 && setting % 64 === 0, small?.fix);
  const raised = { ...DEFAULT, max_locks: setting };
  const inPlace = verifyLocks(raised, tenants, 15, 'link')[0];
  assert.is(inPlace?.status, 'pass', inPlace?.found);
  assert.match(
    inPlace?.found ?? '',
    /max_connections=100 and max_locks_per_transaction=\d+/,
    "initdb's table is the small one now",
  );
  assert.is(verifyLocks(raised, tenants, 15, 'dump')[0]?.status, 'pass');
  const indexed = new Map([['app', { relations: 5_000, tables: 3_000 }]]);
  assert.is(
    verifyLocks(DEFAULT, indexed, 15, 'dump')[0]?.status,
    'pass',
    'pg_dump locks the tables, not their indexes',
  );
  assert.is(verifyLocks(DEFAULT, indexed, 15, 'link')[0]?.status, 'pass');
  assert.equal(verifyLocks(undefined, tenants, 15, 'link'), [], 'an older answer without the settings: nothing said');
});

test("the Job passes the raised setting as its 8th argument (empty: the cluster's own)", () => {
  const spec = {
    name: 'j',
    namespace: 'ns',
    workload: 'StatefulSet/pg',
    image: 'postgres:15',
    claim: 'data',
    mountPath: '/var/lib/postgresql/data',
    pgdata: '/var/lib/postgresql/data/pgdata',
    from: 13,
    to: 15,
    method: 'link' as const,
    installUser: 'postgres',
    removedSettings: [],
    initdb: ['--encoding=UTF8'],
    uid: 999,
    gid: 999,
  };
  const args = (s: object) =>
    (
      buildUpgradeJob(s as typeof spec) as unknown as {
        spec: { template: { spec: { containers: Array<{ command: string[] }> } } };
      }
    ).spec.template.spec.containers[0]?.command ?? [];
  assert.equal(args({ ...spec, maxLocks: 512 }).slice(-2), ['512', '--encoding=UTF8']);
  assert.equal(args(spec).slice(-2), ['', '--encoding=UTF8']);
});

test.run();
