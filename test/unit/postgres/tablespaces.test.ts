import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTablespaces, TABLESPACES_SQL, verifyTablespaces } from '../../../src/postgres/tablespaces.ts';

const PGDATA = '/var/lib/postgresql/data/pgdata';
const MOUNT = '/var/lib/postgresql/data';

test('a tablespace inside PGDATA or off the data volume fails in place, naming it; one on the volume beside PGDATA passes', () => {
  const ts = parseTablespaces([
    { name: 'inside', location: `${PGDATA}/tbs` },
    { name: 'beside', location: `${MOUNT}/tbs` },
    { name: 'away', location: '/mnt/fast' },
    { name: 'prefix', location: `${MOUNT}-other/tbs` },
  ]);
  const [f] = verifyTablespaces(ts, 'link', PGDATA, MOUNT);
  assert.is(f?.id, 'tablespaces');
  assert.is(f?.status, 'fail');
  assert.match(f?.found ?? '', `inside PGDATA ${PGDATA}: inside at ${PGDATA}/tbs`);
  assert.match(
    f?.found ?? '',
    `off the data volume mounted at ${MOUNT}: away at /mnt/fast, prefix at ${MOUNT}-other/tbs`,
  );
  assert.not.match(f?.found ?? '', 'beside', 'the one on the volume beside PGDATA is upgraded where it is');
  assert.match(f?.fix ?? '', 'ALTER TABLE … SET TABLESPACE');
  assert.is(
    verifyTablespaces([{ name: 'beside', location: `${MOUNT}/tbs` }], 'copy', PGDATA, MOUNT)[0]?.status,
    'pass',
  );
  assert.is(verifyTablespaces([], 'link', PGDATA, MOUNT)[0]?.found, 'none but the built-in ones');
});

test('the dump method and an answer without tablespaces say nothing; the SQL leaves out the built-in ones and is schema-qualified', () => {
  assert.equal(verifyTablespaces([{ name: 'away', location: '/mnt/fast' }], 'dump', PGDATA, MOUNT), []);
  assert.equal(verifyTablespaces(undefined, 'link', PGDATA, MOUNT), []);
  assert.match(TABLESPACES_SQL, "pg_catalog.pg_tablespace_location(t.oid) operator(pg_catalog.<>) ''");
  assert.not.match(TABLESPACES_SQL, / from pg_tablespace/);
});

test.run();
