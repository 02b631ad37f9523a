import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeGlobals, redactPasswords, rewriteGlobals, unquoteIdent } from '../../../src/postgres/dump-globals.ts';

const test = suite('pg_dumpall --globals-only rewritten for a new instance whose superuser has another name');

const MD5 = 'md5' + 'a'.repeat(32);
const DUMP = `--
-- PostgreSQL database cluster dump
--

\\restrict abc123

SET default_transaction_read_only = off;

--
-- Roles
--

CREATE ROLE admin;
ALTER ROLE admin WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$x:y';
CREATE ROLE app_md5;
ALTER ROLE app_md5 WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS PASSWORD '${MD5}';
CREATE ROLE "pg-14-admin";
ALTER ROLE "pg-14-admin" WITH SUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$4096:b3RoZXI=$p:q';
ALTER ROLE "pg-14-admin" SET search_path TO 'app';
CREATE ROLE postgres;
ALTER ROLE postgres WITH SUPERUSER INHERIT LOGIN PASSWORD 'SCRAM-SHA-256$4096:cG9zdGdyZXM=$r:s';
CREATE TABLESPACE fast OWNER admin LOCATION '/mnt/fast''s';
GRANT app_md5 TO admin GRANTED BY admin;

\\unrestrict abc123
`;

test('the target\'s superuser is neither created nor altered; an existing role is not created again; the rest stays', () => {
  const r = rewriteGlobals(DUMP, { superuser: 'pg-14-admin', existing: ['postgres'] });
  assert.not.match(r.sql, 'CREATE ROLE "pg-14-admin";');
  assert.not.match(r.sql, 'ALTER ROLE "pg-14-admin" WITH');
  assert.match(r.sql, 'ALTER ROLE "pg-14-admin" SET search_path', 'its per-role settings stay');
  assert.not.match(r.sql, 'CREATE ROLE postgres;');
  assert.match(r.sql, 'ALTER ROLE postgres WITH SUPERUSER', 'another existing role takes the source\'s attributes');
  for (const kept of ['CREATE ROLE admin;', 'ALTER ROLE admin WITH SUPERUSER', 'CREATE ROLE app_md5;', 'GRANT app_md5 TO admin', '\\restrict abc123', '\\unrestrict abc123']) {
    assert.match(r.sql, kept);
  }
  assert.is(r.skipped.length, 3);
});

test('the report names md5 roles and tablespaces, and holds no password', () => {
  const r = rewriteGlobals(DUMP, { superuser: 'pg-14-admin' });
  assert.equal(r.md5Roles, ['app_md5']);
  assert.equal(r.tablespaces, [{ name: 'fast', location: "/mnt/fast's" }]);
  const said = [...describeGlobals(r, 'pg-14-admin'), ...r.skipped].join('\n');
  assert.match(said, 'md5 password hashes carried as they are for app_md5');
  assert.match(said, 'tablespace fast lives at /mnt/fast\'s');
  assert.match(said, "PASSWORD '<redacted>'");
  assert.not.match(said, 'SCRAM-SHA-256$');
  assert.not.match(said, MD5);
});

test('the same superuser name on both sides: only that role\'s own statements go', () => {
  const r = rewriteGlobals(DUMP, { superuser: 'admin' });
  assert.not.match(r.sql, 'CREATE ROLE admin;');
  assert.not.match(r.sql, 'ALTER ROLE admin WITH');
  assert.match(r.sql, 'CREATE ROLE "pg-14-admin";');
  assert.equal(describeGlobals(rewriteGlobals('', { superuser: 'x' }), 'x'), []);
});

test('identifiers and passwords as pg_dumpall writes them', () => {
  assert.is(unquoteIdent('"a ""b"""'), 'a "b"');
  assert.is(unquoteIdent('plain'), 'plain');
  assert.is(redactPasswords("ALTER ROLE x WITH LOGIN PASSWORD 'it''s';"), "ALTER ROLE x WITH LOGIN PASSWORD '<redacted>';");
});

test.run();
