import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Fingerprint } from '../../../src/postgres/fingerprint.ts';
import { judgeData, type DataInput } from '../../../src/postgres/validate-data.ts';
import { judgeConnections, judgeExtensions, judgeServer, judgeStatistics } from '../../../src/postgres/validate.ts';
import { judgeAmcheck, judgeCollations } from '../../../src/postgres/validate-indexes.ts';
import { parseValidateDb, type ValidateDbFacts } from '../../../src/postgres/validate-facts.ts';
import { refreshCollationsSql, validateDatabaseSql } from '../../../src/postgres/validate-sql.ts';

const test = suite('validate: the judges of an upgraded server');

const fp = (tables: Record<string, { rows: number; checksum: string }>, seq = '7'): Fingerprint => ({
  databases: { app1: { encoding: 'UTF8', collate: 'C', ctype: 'C' } },
  roles: { postgres: 'scram-sha-256', app_md5: 'md5', nologin: 'none' },
  perDb: {
    app1: {
      tables,
      sequences: { 'public.s': seq },
      extensions: { hstore: '1.7' },
      objects: ['index public.t_pkey', 'view public.v'],
      largeObjects: { count: 1, checksum: '9' },
    },
  },
});
const ref = fp({ 'public.t': { rows: 200, checksum: 'a' }, 'public.app_writes': { rows: 50, checksum: 'w' } });
const input = (now: Fingerprint, writes: Record<string, number> = {}, reset?: string): DataInput => ({
  reference: ref,
  referenceSource: 'snapshot s1',
  now,
  writes: { app1: writes },
  countersReset: { app1: reset },
  rollback: 'kubectl pgupgrade upgrade -n ns sts/pg --rollback',
});

test('data: equal passes; a table the applications wrote since is listed, not judged; a sequence may advance', () => {
  assert.is(judgeData(input(ref)).status, 'pass');
  const moved = fp({ 'public.t': { rows: 200, checksum: 'a' }, 'public.app_writes': { rows: 80, checksum: 'x' } }, '9');
  const r = judgeData(input(moved, { 'public.app_writes': 30 }));
  assert.is(r.status, 'pass');
  assert.match(r.found, '1 table written by clients since the upgrade');
  assert.ok(r.details?.some((d) => d.includes('public.app_writes: rows 50 → 80; written since the upgrade (30 rows')));
  assert.ok(r.details?.some((d) => d.includes('sequence public.s: 7 → 9, advanced')));
});

test('data: a row gone, or one row changed with the same count, in a table nothing wrote, fails with the diff and the way back', () => {
  const gone = judgeData(
    input(fp({ 'public.t': { rows: 199, checksum: 'b' }, 'public.app_writes': { rows: 50, checksum: 'w' } }), {
      'public.t': 0,
    }),
  );
  assert.is(gone.status, 'fail');
  assert.ok(
    gone.details?.includes('FAIL database app1: table public.t: rows 200 → 199, not written since the upgrade'),
    gone.details?.join('\n'),
  );
  assert.match(gone.fix ?? '', 'kubectl pgupgrade upgrade -n ns sts/pg --rollback');
  const changed = judgeData(
    input(fp({ 'public.t': { rows: 200, checksum: 'c' }, 'public.app_writes': { rows: 50, checksum: 'w' } })),
  );
  assert.is(changed.status, 'fail');
  assert.ok(
    changed.details?.includes(
      'FAIL database app1: table public.t: content changed (rows 200), not written since the upgrade',
    ),
  );
});

test('data: counters reset after the upgrade cannot tell, so a difference warns; missing objects and a sequence that went back fail', () => {
  const now = fp({ 'public.t': { rows: 199, checksum: 'b' }, 'public.app_writes': { rows: 50, checksum: 'w' } });
  const w = judgeData(input(now, {}, '2026-01-02T00:00:00Z'));
  assert.is(w.status, 'warn');
  assert.match(w.details?.join('\n') ?? '', 'reset at 2026-01-02T00:00:00Z');
  const back = fp({ 'public.t': { rows: 200, checksum: 'a' }, 'public.app_writes': { rows: 50, checksum: 'w' } }, '3');
  (back.perDb.app1 as { objects: string[] }).objects = ['view public.v'];
  const r = judgeData(input(back));
  assert.is(r.status, 'fail');
  assert.ok(r.details?.includes('FAIL database app1: sequence public.s: 7 → 3, went back (new rows could reuse keys)'));
  assert.ok(r.details?.includes('FAIL database app1: index public.t_pkey: missing'));
});

test('connections: a role that had a password must still log in with the same kind of hash; closed databases fail', () => {
  const roles = [
    { name: 'postgres', login: true, hash: 'scram-sha-256', expired: false },
    { name: 'app_md5', login: true, hash: 'md5', expired: false },
    { name: 'nologin', login: false, hash: 'none', expired: false },
  ];
  const dbs = [
    { name: 'app1', allow: true },
    { name: 'template0', allow: false },
  ];
  assert.is(judgeConnections(ref.roles, { versionNum: 150010, roles, databases: dbs }).status, 'pass');
  const r = judgeConnections(ref.roles, {
    versionNum: 150010,
    roles: [roles[0], { ...roles[1], login: false }] as typeof roles,
    databases: [...dbs, { name: 'x', allow: false }],
  });
  assert.is(r.status, 'fail');
  assert.match(r.found, 'role app_md5: may no longer log in');
  assert.match(r.found, 'role nologin: missing');
  assert.match(r.found, 'database x: does not allow connections');
  assert.not.match(r.found, 'template0');
});

test("connections after a dump: the new instance's own superuser may change its kind of hash (its Secret's password); any other role may not", () => {
  const roles = [
    { name: 'postgres', login: true, hash: 'scram-sha-256', expired: false },
    { name: 'app_md5', login: true, hash: 'md5', expired: false },
    { name: 'nologin', login: false, hash: 'none', expired: false },
  ];
  const dbs = [{ name: 'app1', allow: true }];
  const before = { ...ref.roles, postgres: 'md5' };
  const own = judgeConnections(before, { versionNum: 140010, roles, databases: dbs }, undefined, 'postgres');
  assert.is(own.status, 'pass');
  assert.match(
    own.found,
    "but for postgres (the new instance's own superuser, its Secret's password: md5 → scram-sha-256)",
  );
  assert.is(judgeConnections(before, { versionNum: 140010, roles, databases: dbs }).status, 'fail');
  const other = judgeConnections(
    { ...before, app_md5: 'scram-sha-256' },
    { versionNum: 140010, roles, databases: dbs },
    undefined,
    'postgres',
  );
  assert.match(other.found, 'role app_md5: password hash scram-sha-256 → md5');
  const locked = judgeConnections(
    before,
    { versionNum: 140010, roles: [{ ...roles[0], login: false }, roles[1], roles[2]] as typeof roles, databases: dbs },
    undefined,
    'postgres',
  );
  assert.match(locked.found, 'role postgres: may no longer log in');
});

const db = (x: Partial<ValidateDbFacts>): ValidateDbFacts => ({
  writes: {},
  statsReset: null,
  noStats: [],
  extensions: [],
  extensionRisks: [],
  collations: [],
  databaseCollation: null,
  collationIndexes: [],
  collationOthers: [],
  ...x,
});

test('server, statistics, extensions, collations and amcheck each say what they found and how to repair it', () => {
  assert.is(judgeServer(15, 150010, { name: 'pg-0', ready: true, restarts: 0 }, 'logs').status, 'pass');
  assert.match(
    judgeServer(15, 130022, { name: 'pg-0', ready: true, restarts: 0 }, 'logs').found,
    'runs PostgreSQL 13, not the recorded target 15',
  );
  assert.match(
    judgeServer(15, 150010, { name: 'pg-0', ready: true, restarts: 2 }, 'kubectl logs').fix ?? '',
    'kubectl logs --previous',
  );
  const st = judgeStatistics(new Map([['app1', db({ noStats: ['public.t'] })]]), 18, false);
  assert.is(st.status, 'warn');
  assert.match(st.fix ?? '', '--missing-stats-only');
  assert.is(
    judgeExtensions(new Map([['app1', db({ extensions: [{ name: 'hstore', installed: '1.7', default: '1.8' }] })]]))
      .status,
    'warn',
  );
  assert.is(
    judgeExtensions(new Map([['app1', db({ extensions: [{ name: 'gone', installed: '1', default: null }] })]])).status,
    'fail',
  );
  const c = judgeCollations(
    new Map([
      ['app1', db({ databaseCollation: { recorded: '0.1', actual: '2.36' }, collationIndexes: ['public.t_name'] })],
    ]),
    15,
  );
  assert.is(c.status, 'fail');
  assert.match(
    c.found,
    'database app1 recorded 0.1, library 2.36; these depend on them and may be out of order: app1: index public.t_name',
  );
  assert.match(c.fix ?? '', '--reindex-collations');
  assert.is(
    judgeCollations(new Map([['app1', db({ databaseCollation: { recorded: '2.36', actual: '2.36' } })]]), 15).status,
    'pass',
  );
  const a = judgeAmcheck(
    new Map([
      [
        'app1',
        [
          { index: 'public.t_pkey', ok: true },
          { index: 'public.t_name', ok: false, error: 'invalid page' },
        ],
      ],
    ]),
  );
  assert.is(a.status, 'fail');
  assert.equal(a.details, ['ok app1: public.t_pkey', 'CORRUPT app1: public.t_name: invalid page']);
});

test('an old extension whose schema non-superusers can write: named with what was found there and its statement', () => {
  const ext = (name: string) => ({ name, installed: '1.4', default: '1.7' });
  const risk = {
    extension: 'hstore',
    schema: 'public',
    offenders: ['PUBLIC may create objects in schema public'],
    total: 3,
  };
  const x = judgeExtensions(
    new Map([['app1', db({ extensions: [ext('hstore'), ext('pg_trgm')], extensionRisks: [risk] })]]),
  );
  assert.is(x.status, 'warn');
  assert.match(
    x.found,
    'hstore in database app1 (schema public): PUBLIC may create objects in schema public; and 2 more',
  );
  assert.match(
    x.fix ?? '',
    'in database app1: ALTER EXTENSION "hstore" UPDATE;; --update-extensions updates the others',
  );
  assert.not.match(judgeExtensions(new Map([['app1', db({ extensions: [ext('pg_trgm')] })]])).found, 'not safe');
});

test('the SQL: the database collation is read from 15 on only; counters and stats_reset parse', () => {
  assert.match(validateDatabaseSql(15), 'pg_database_collation_actual_version');
  assert.not.match(validateDatabaseSql(14), 'pg_database_collation_actual_version');
  assert.not.match(refreshCollationsSql(14), 'alter database');
  const f = parseValidateDb(
    '{"writes": {"public.t": "3"}, "stats_reset": null, "no_stats": [], "extensions": [], "collations": [], "database_collation": null, "collation_indexes": []}',
  );
  assert.equal(f.writes, { 'public.t': 3 });
  assert.is(f.statsReset, null);
});

test.run();

test('a collation version that moved with nothing depending on it is a WARN with the statements, not a FAIL (17 → 18, glibc 2.41 → 2.43)', () => {
  const c = judgeCollations(
    new Map([['postgres', db({ databaseCollation: { recorded: '2.41', actual: '2.43' } })]]),
    18,
  );
  assert.is(c.status, 'warn');
  assert.match(
    c.found,
    'database postgres recorded 2.41, library 2.43; no index, partition key or constraint depends on them',
  );
  assert.match(c.fix ?? '', 'ALTER DATABASE "postgres" REFRESH COLLATION VERSION');
  const coll = judgeCollations(
    new Map([['app', db({ collations: [{ name: 'public.de', recorded: '1', actual: '2' }] })]]),
    18,
  );
  assert.match(coll.fix ?? '', '(in app) ALTER COLLATION public.de REFRESH VERSION');
});

test('a partition key or constraint on a moved collation FAILs and is named; more than 20 dependents end with a count', () => {
  const p = judgeCollations(
    new Map([
      [
        'app',
        db({
          databaseCollation: { recorded: '2.41', actual: '2.43' },
          collationOthers: ['partition key of public.events'],
        }),
      ],
    ]),
    18,
  );
  assert.is(p.status, 'fail');
  assert.match(p.found, 'app: partition key of public.events');
  assert.match(p.fix ?? '', 'rows of those partitions');
  const many = Array.from({ length: 25 }, (_, i) => `public.i${i}`);
  const m = judgeCollations(
    new Map([['app', db({ databaseCollation: { recorded: '2.41', actual: '2.43' }, collationIndexes: many })]]),
    18,
  );
  assert.match(m.found, 'index public.i19 and 5 more');
  assert.not.match(m.found, 'public.i20');
  assert.match(validateDatabaseSql(18), "'collation_others'");
});
