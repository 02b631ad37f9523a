import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseFacts, ServerFacts } from '../../../src/postgres/facts.ts';
import { parsePerDatabase, parseServerFacts } from '../../../src/postgres/facts.ts';
import { parseVolumeFacts, type VolumeFacts } from '../../../src/postgres/volume-facts.ts';
import { psqlStdin } from '../../../src/postgres/psql-scripts.ts';
import { removedIn, shippedExtensions } from '../../../src/postgres/extensions.ts';
import {
  initdbOptions,
  localeOptions,
  verifyExtensions,
  verifyLocales,
  verifyPasswords,
  type DbRuleInput,
} from '../../../src/postgres/rules.ts';
import { estimateDowntime } from '../../../src/postgres/downtime.ts';
import { verifyPgUpgradeRules } from '../../../src/postgres/rules-pg-upgrade.ts';
import { verifyTypeRules } from '../../../src/postgres/rules-types.ts';
import { pairTraps, SOURCE_MAJORS, TARGET_MAJORS } from '../../../src/postgres/versions.ts';
import { enforcedLevel, verifyJobIdentity, verifyLeftovers, verifySpace } from '../../../src/postgres/rules-volume.ts';

const test = suite('check rules');

const db = (name: string, collate = 'en_US.UTF-8') => ({
  name,
  encoding: 'UTF8',
  collate,
  ctype: collate,
  provider: 'libc' as const,
  allowConn: name !== 'template0',
  sizeBytes: 8e6,
});
function server(over: Partial<ServerFacts> = {}): ServerFacts {
  return {
    versionNum: 130023,
    version: '13.23',
    installUser: 'postgres',
    dataDirectory: '/bitnami/postgresql/data',
    checksums: false,
    walSegmentSize: '16MB',
    passwordEncryption: 'scram-sha-256',
    sharedPreloadLibraries: [],
    databases: [db('postgres'), db('template0'), db('template1'), db('app')],
    roles: [{ name: 'postgres', login: true, hash: 'scram' }],
    hba: [{ line: 1, type: 'host', database: ['all'], users: ['all'], method: 'scram-sha-256' }],
    prepared: 0,
    slots: [],
    clients: [],
    ...over,
  };
}
const none = { count: 0, items: [] };
/** n objects named o1…, each with its fix. */
const objs = (n: number) => ({
  count: n,
  items: Array.from({ length: Math.min(n, 21) }, (_, k) => ({ name: `public.o${k + 1}`, fix: `FIX public.o${k + 1}` })),
});
const facts = (over: Partial<DatabaseFacts> = {}): DatabaseFacts => ({
  extensions: [{ name: 'plpgsql', version: '1.0' }],
  relations: 300,
  regColumns: none,
  postfixOperators: none,
  userConversions: none,
  attverColumns: none,
  ...over,
});
const input = (over: Partial<DbRuleInput> = {}): DbRuleInput => ({
  from: 13,
  to: 15,
  method: 'link',
  server: server(),
  databases: new Map([
    ['postgres', facts()],
    ['app', facts()],
  ]),
  targetIsStock: true,
  ...over,
});

test('initdb options reproduce template1, checksums and WAL segment size', () => {
  assert.equal(initdbOptions(server(), 15), ['--encoding=UTF8', '--lc-collate=en_US.UTF-8', '--lc-ctype=en_US.UTF-8']);
  assert.equal(initdbOptions(server(), 18).pop(), '--no-data-checksums', '18 turns checksums on unless told');
  assert.equal(initdbOptions(server({ checksums: true, walSegmentSize: '64MB' }), 15).slice(-2), [
    '--data-checksums',
    '--wal-segsize=64',
  ]);
  const icu = server({ databases: [{ ...db('template1'), provider: 'icu', icuLocale: 'en-US' }] });
  assert.ok(
    initdbOptions(icu, 17).includes('--locale-provider=icu') && initdbOptions(icu, 17).includes('--icu-locale=en-US'),
  );
  assert.equal(
    localeOptions(server({ checksums: true })),
    ['--encoding=UTF8', '--lc-collate=en_US.UTF-8', '--lc-ctype=en_US.UTF-8'],
    'the locale alone',
  );
  assert.equal(localeOptions(server({ databases: [db('postgres')] })), [], 'no template1, nothing known');
});

test('a database whose locale differs from template1 fails and is named', () => {
  assert.is(verifyLocales(input()).status, 'pass');
  const odd = verifyLocales(input({ server: server({ databases: [db('template1'), db('odd', 'C')] }) }));
  assert.is(odd.status, 'fail');
  assert.match(odd.found, 'odd (UTF8, C/C, libc) differ from template1');
  assert.ok(odd.fix);
});

test('extensions: removed ones fail, unknown ones fail for stock targets and warn for vendor images', () => {
  assert.ok(shippedExtensions(13).has('adminpack') && !shippedExtensions(17).has('adminpack'));
  assert.ok(shippedExtensions(15).has('pg_walinspect') && !shippedExtensions(13).has('pg_walinspect'));
  assert.ok(
    shippedExtensions(10).has('chkpass') && !shippedExtensions(12).has('chkpass') && removedIn('chkpass', 14) === 11,
  );
  assert.is(removedIn('adminpack', 17), 17);
  assert.is(removedIn('hstore', 18), undefined);
  assert.is(verifyExtensions(input()).status, 'pass');
  const withAdminpack = new Map([['postgres', facts({ extensions: [{ name: 'adminpack', version: '2.1' }] })]]);
  assert.is(verifyExtensions(input({ databases: withAdminpack })).status, 'pass', 'adminpack exists in 15');
  const gone = verifyExtensions(input({ to: 17, databases: withAdminpack }));
  assert.is(gone.status, 'fail');
  assert.match(gone.found, 'postgres: adminpack 2.1 (removed from PostgreSQL 17)');
  const postgis = new Map([['app', facts({ extensions: [{ name: 'postgis', version: '3.4' }] })]]);
  assert.is(verifyExtensions(input({ databases: postgis })).status, 'fail');
  assert.is(verifyExtensions(input({ databases: postgis, targetIsStock: false })).status, 'warn');
  assert.is(verifyExtensions(input({ server: server({ sharedPreloadLibraries: ['timescaledb'] }) })).status, 'warn');
});

test('md5 roles warn and say what changes; 18 adds its deprecation', () => {
  assert.is(verifyPasswords(input()).status, 'pass');
  const md5 = input({
    server: server({
      roles: [{ name: 'legacy', login: true, hash: 'md5' }],
      hba: [{ line: 4, type: 'host', database: ['all'], users: ['all'], method: 'md5' }],
    }),
  });
  const w = verifyPasswords(md5);
  assert.is(w.status, 'warn');
  assert.match(w.found, 'md5 roles: legacy');
  assert.match(w.found, 'pg_hba md5/password lines: 4');
  assert.not.match(w.found, 'deprecates');
  assert.match(verifyPasswords({ ...md5, to: 18 }).found, 'PostgreSQL 18 deprecates md5');
});

test('what pg_upgrade refuses: prepared transactions, logical slots before 17, reg* columns, postfix operators, pg_attver', () => {
  const ids = (i: DbRuleInput) => Object.fromEntries(verifyPgUpgradeRules(i).map((f) => [f.id, f.status]));
  assert.equal(ids(input()), {
    'prepared-transactions': 'pass',
    'replication-slots': 'pass',
    'reg-columns': 'pass',
    'postfix-operators': 'pass',
    'encoding-conversions': 'pass',
  });
  const slot = { slots: [{ name: 'cdc', type: 'logical', database: 'app' }] };
  assert.is(ids(input({ server: server({ prepared: 2 }) }))['prepared-transactions'], 'fail');
  assert.is(ids(input({ server: server(slot) }))['replication-slots'], 'fail');
  assert.is(ids(input({ from: 17, to: 18, server: server(slot) }))['replication-slots'], 'warn');
  assert.is(
    ids(input({ server: server({ slots: [{ name: 'phys', type: 'physical', database: null }] }) }))[
      'replication-slots'
    ],
    'pass',
  );
  assert.is(ids(input({ databases: new Map([['app', facts({ regColumns: objs(1) })]]) }))['reg-columns'], 'fail');
  assert.is(
    ids(input({ databases: new Map([['app', facts({ postfixOperators: objs(1) })]]) }))['postfix-operators'],
    'fail',
  );
  assert.is(
    ids(input({ from: 15, databases: new Map([['app', facts({ postfixOperators: objs(1) })]]) }))['postfix-operators'],
    'pass',
    'no postfix operators exist after 13',
  );
  assert.is(
    ids(input({ from: 17, to: 18, databases: new Map([['app', facts({ attverColumns: objs(3) })]]) }))['pg-attver'],
    'fail',
  );
  const lines = verifyPgUpgradeRules(
    input({ server: server({ databases: [db('template1'), db('two\nlines')] }) }),
  ).find((f) => f.id === 'database-names');
  assert.is(
    lines?.status,
    'fail',
    'pg_upgrade refuses a database name with a newline ("shell command argument contains a newline")',
  );
  assert.match(lines?.found ?? '', '"two\\nlines"');
});

test('the oldest sources: tables WITH OIDS and removed types from 10/11, aclitem before 16; nothing of the kind for newer pairs', () => {
  const ids = (i: DbRuleInput) => Object.fromEntries(verifyTypeRules(i).map((f) => [f.id, f.status]));
  const bad = new Map([
    ['app', facts({ withOids: objs(2), typeColumns: { abstime: objs(1), sql_identifier: objs(3), aclitem: objs(1) } })],
  ]);
  assert.equal(ids(input({ from: 11, to: 14, databases: bad })), {
    'with-oids': 'fail',
    'removed-types': 'fail',
    'sql-identifier': 'fail',
  });
  assert.equal(ids(input({ from: 10, to: 16, databases: bad })), {
    'with-oids': 'fail',
    'removed-types': 'fail',
    'sql-identifier': 'fail',
    'aclitem-columns': 'fail',
  });
  assert.equal(ids(input({ from: 11, to: 12 })), {
    'with-oids': 'pass',
    'removed-types': 'pass',
    'sql-identifier': 'pass',
  });
  assert.equal(ids(input({ from: 12, to: 14, databases: bad })), {}, '12 has none of these: no rule, no noise');
  assert.equal(ids(input({ from: 14, to: 16, databases: bad })), { 'aclitem-columns': 'fail' });
  const oids = verifyTypeRules(input({ from: 10, to: 14, databases: bad })).find((f) => f.id === 'with-oids');
  assert.match(oids?.found ?? '', 'app (2)');
  assert.match(oids?.fix ?? '', 'SET WITHOUT OIDS');
  // From 12, postfix operators are a trap of the pair (12 → 14, the seeds' own); from 14 they cannot exist.
  const post = (from: number, to: number) =>
    verifyPgUpgradeRules(input({ from, to, databases: new Map([['app', facts({ postfixOperators: objs(1) })]]) })).find(
      (f) => f.id === 'postfix-operators',
    )?.status;
  assert.is(post(12, 14), 'fail');
  assert.is(post(12, 13), 'pass');
});

test('every trap of every supported pair is a check that the report names, for every pair', () => {
  for (const from of SOURCE_MAJORS)
    for (const to of TARGET_MAJORS.filter((t) => t > from)) {
      const i = input({ from, to });
      const ids = new Set(
        [verifyLocales(i), verifyPasswords(i), ...verifyPgUpgradeRules(i), ...verifyTypeRules(i)].map((f) => f.id),
      );
      for (const t of pairTraps(from, to)) assert.ok(ids.has(t.id), `${from}→${to}: ${t.id} (${t.what}) has no check`);
    }
});

test('the downtime estimate shows its formula', () => {
  const link = estimateDowntime('link', 10 * 2 ** 30, 5000);
  assert.is(link.seconds, 25);
  assert.match(link.formula, '5 s + 5000 relations × 4 ms');
  assert.ok(estimateDowntime('copy', 10 * 2 ** 30, 5000).seconds > link.seconds);
  // An application that ignores SIGTERM sits out its grace period; readiness probes wait their delay and period.
  const slow = estimateDowntime('link', 10 * 2 ** 30, 5000, { appGraceSeconds: 30, readinessSeconds: 4 });
  assert.is(slow.seconds, 59);
  assert.match(slow.formula, 'up to 30 s for the applications to stop (their terminationGracePeriodSeconds');
  assert.match(slow.formula, '4 s of readiness probes');
});

const volume = (over: Partial<VolumeFacts> = {}): VolumeFacts => ({
  uid: 1001,
  gid: 1001,
  pgVersion: '13',
  data: { uid: 1001, gid: 1001, mode: '700' },
  parent: { uid: 0, gid: 1001, mode: '2775' },
  availBytes: 2 ** 30,
  fsBytes: 2 ** 31,
  availInodes: 100000,
  dataBytes: 500 * 2 ** 20,
  parentBytes: 500 * 2 ** 20,
  dataFiles: 2000,
  fsType: 'ext2/ext3',
  parentEntries: ['data'],
  insideData: [],
  ...over,
});

test('space: copy needs the data again, link little; a shared filesystem counts what the volume holds', () => {
  assert.is(verifySpace(volume(), 'copy', 2 ** 31).status, 'pass');
  assert.is(verifySpace(volume({ availBytes: 300 * 2 ** 20 }), 'copy', 2 ** 31).status, 'fail');
  assert.is(verifySpace(volume({ availBytes: 300 * 2 ** 20 }), 'link', 2 ** 31).status, 'pass');
  const shared = volume({ fsBytes: 2 ** 40, availBytes: 2 ** 39 });
  assert.is(
    verifySpace(shared, 'copy', 700 * 2 ** 20).status,
    'fail',
    '700 MiB claim holding 500 MiB has no room for a copy',
  );
  assert.is(verifySpace(shared, 'link', 700 * 2 ** 20).status, 'pass');
  assert.is(verifySpace(volume({ availInodes: 500 }), 'copy', 2 ** 31).status, 'fail');
  assert.is(verifySpace(volume(), 'clone', 2 ** 31, false).status, 'fail');
});

test('the Job runs as the data owner; a root-owned volume root fails under restricted and warns elsewhere', () => {
  assert.is(enforcedLevel(undefined), 'privileged');
  assert.is(enforcedLevel({ 'pod-security.kubernetes.io/enforce': 'restricted' }), 'restricted');
  assert.is(verifyJobIdentity(volume(), 'restricted', '/bitnami/postgresql/data', 1001).status, 'pass');
  const rootParent = volume({ data: { uid: 999, gid: 999, mode: '700' }, parent: { uid: 0, gid: 0, mode: '755' } });
  const f = verifyJobIdentity(rootParent, 'restricted', '/var/lib/postgresql/data/pgdata');
  assert.is(f.status, 'fail');
  assert.match(f.fix ?? '', 'chown 999:999 /var/lib/postgresql/data');
  assert.is(verifyJobIdentity(rootParent, 'baseline', '/var/lib/postgresql/data/pgdata').status, 'warn');
  assert.is(
    verifyJobIdentity(volume({ data: { uid: 0, gid: 0, mode: '700' } }), 'privileged', '/d/data').status,
    'fail',
  );
});

test('leftovers: <base>-<major>, *.preupgrade, pg_upgrade_output.d and our annotations', () => {
  assert.is(
    verifyLeftovers(volume({ parentEntries: ['data', 'lost+found', 'conf'] }), '/bitnami/postgresql/data', []).status,
    'pass',
  );
  const l = verifyLeftovers(
    volume({
      parentEntries: ['data', 'data-15', 'data-13.preupgrade', 'old.preupgrade'],
      insideData: ['pg_upgrade_output.d'],
    }),
    '/bitnami/postgresql/data',
    ['pgupgrade.kubectl.io/phase'],
  );
  assert.is(l.status, 'fail');
  for (const word of [
    'data-15',
    'data-13.preupgrade',
    'old.preupgrade',
    'data/pg_upgrade_output.d',
    'annotation pgupgrade.kubectl.io/phase',
  ])
    assert.match(l.found, word);
  // A Job's hold left behind: the old cluster aside, and the note that was to take PGDATA's name.
  const h = verifyLeftovers(
    volume({ parentEntries: ['data', '.pgupgrade-held-13', '.pgupgrade-hold-note', '.pgupgrade-heldx'] }),
    '/bitnami/postgresql/data',
    [],
  );
  assert.is(h.status, 'fail');
  assert.match(h.found, '.pgupgrade-held-13, .pgupgrade-hold-note:');
  assert.not.match(h.found, 'heldx');
});

test('facts parse from what the queries and the volume script print', () => {
  const s = parseServerFacts(
    JSON.stringify({
      version_num: 150004,
      version: '15.4',
      data_directory: '/d',
      checksums: 'on',
      wal_segment_size: '16MB',
      password_encryption: 'md5',
      shared_preload_libraries: 'pg_stat_statements, "auto_explain"',
      databases: [
        {
          datname: 'template1',
          encoding_name: 'UTF8',
          datcollate: 'C',
          datctype: 'C',
          datlocprovider: 'i',
          daticulocale: 'und',
          datallowconn: true,
          size: 7000,
        },
      ],
      roles: [],
      hba: [{ line: 1, type: 'local', database: ['all'], users: ['all'], method: 'trust' }],
      prepared: 0,
      slots: [],
      clients: [],
    }),
  );
  assert.is(s.checksums, true);
  assert.equal(s.sharedPreloadLibraries, ['pg_stat_statements', 'auto_explain']);
  assert.is(s.databases[0]?.provider, 'icu');
  assert.is(s.databases[0]?.icuLocale, 'und');
  const b64 = (x: string) => Buffer.from(x).toString('base64');
  // Names come back base64-encoded, so that one holding a newline or a tab stays one name.
  assert.equal(
    [...parsePerDatabase(`${b64('app')}\t{"a":1}\n${b64('odd\tdb\n')}\t{}\n`)],
    [
      ['app', '{"a":1}'],
      ['odd\tdb\n', '{}'],
    ],
  );
  assert.is(
    psqlStdin('pw\n', ['a\nb', 'host=x dbname=y']),
    `${b64('pw\n')}\n${b64('a\nb')}\n${b64('host=x dbname=y')}\n\n`,
  );
  const v = parseVolumeFacts(
    [
      'id 1001 1001',
      'pg_version 13',
      'data 1001 1001 700',
      'parent 0 1001 2777',
      'df /dev/sda1 8000000 3000000 5000000 38% /bitnami/postgresql',
      'dfi /dev/sda1 500000 2000 498000 1% /x',
      'du 61000',
      'du_parent 61200',
      'files 1600',
      'fstype ext2/ext3',
      'entry data',
      'entry conf',
      'inside pg_upgrade_output.d',
    ].join('\n'),
  );
  assert.equal(
    [
      v.uid,
      v.data.uid,
      v.parent.mode,
      v.availBytes,
      v.fsBytes,
      v.availInodes,
      v.dataBytes,
      v.parentEntries,
      v.insideData,
    ],
    [
      1001,
      1001,
      '2777',
      5000000 * 1024,
      8000000 * 1024,
      498000,
      61000 * 1024,
      ['data', 'conf'],
      ['pg_upgrade_output.d'],
    ],
  );
  assert.throws(() => parseVolumeFacts('id 1 1'), /cannot stat the data directory/);
});

test.run();
