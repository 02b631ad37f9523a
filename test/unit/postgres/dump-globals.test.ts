import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  META_REFUSED,
  describeGlobals,
  redactPasswords,
  rewriteGlobals,
  unquoteIdent,
} from '../../../src/postgres/dump-globals.ts';

const test = suite('pg_dumpall --globals-only rewritten for a new instance whose superuser has another name');

const MD5 = `md5${'a'.repeat(32)}`;
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

test("the target's superuser is neither created nor altered; an existing role is not created again; the rest stays", () => {
  const r = rewriteGlobals(DUMP, { superuser: 'pg-14-admin', existing: ['postgres'] });
  assert.not.match(r.sql, 'CREATE ROLE "pg-14-admin";');
  assert.not.match(r.sql, 'ALTER ROLE "pg-14-admin" WITH');
  assert.match(r.sql, 'ALTER ROLE "pg-14-admin" SET search_path', 'its per-role settings stay');
  assert.not.match(r.sql, 'CREATE ROLE postgres;');
  assert.match(r.sql, 'ALTER ROLE postgres WITH SUPERUSER', "another existing role takes the source's attributes");
  for (const kept of [
    'CREATE ROLE admin;',
    'ALTER ROLE admin WITH SUPERUSER',
    'CREATE ROLE app_md5;',
    'GRANT app_md5 TO admin',
  ]) {
    assert.match(r.sql, kept);
  }
  assert.not.match(
    r.sql,
    'restrict',
    "the dump's own \\restrict and \\unrestrict lines go: the load restricts psql itself",
  );
  assert.is(r.skipped.length, 3);
});

test('the report names md5 roles and tablespaces, and holds no password', () => {
  const r = rewriteGlobals(DUMP, { superuser: 'pg-14-admin' });
  assert.equal(r.md5Roles, ['app_md5']);
  assert.equal(r.tablespaces, [{ name: 'fast', location: "/mnt/fast's" }]);
  const said = [...describeGlobals(r, 'pg-14-admin'), ...r.skipped].join('\n');
  assert.match(said, 'md5 password hashes carried as they are for app_md5');
  assert.match(said, "tablespace fast lives at /mnt/fast's");
  assert.match(said, "PASSWORD '<redacted>'");
  assert.not.match(said, 'SCRAM-SHA-256$');
  assert.not.match(said, MD5);
});

test("the same superuser name on both sides: only that role's own statements go", () => {
  const r = rewriteGlobals(DUMP, { superuser: 'admin' });
  assert.not.match(r.sql, 'CREATE ROLE admin;');
  assert.not.match(r.sql, 'ALTER ROLE admin WITH');
  assert.match(r.sql, 'CREATE ROLE "pg-14-admin";');
  assert.equal(describeGlobals(rewriteGlobals('', { superuser: 'x' }), 'x'), []);
});

test('identifiers and passwords as pg_dumpall writes them', () => {
  assert.is(unquoteIdent('"a ""b"""'), 'a "b"');
  assert.is(unquoteIdent('plain'), 'plain');
  assert.is(
    redactPasswords("ALTER ROLE x WITH LOGIN PASSWORD 'it''s';"),
    "ALTER ROLE x WITH LOGIN PASSWORD '<redacted>';",
  );
  assert.is(
    redactPasswords("alter role x password  'a;b' login"),
    "alter role x password  '<redacted>' login",
    'in any case',
  );
  assert.is(
    redactPasswords("ALTER ROLE x PASSWORD E'a\\'b' LOGIN"),
    "ALTER ROLE x PASSWORD '<redacted>' LOGIN",
    "E'…' with an escaped quote",
  );
  assert.is(
    redactPasswords("LINE 1: ...ITH PASSWORD 'SCRAM-SHA-256$4096:c2Fs...\nHINT: x"),
    "LINE 1: ...ITH PASSWORD '<redacted>'\nHINT: x",
    'a literal that psql cut short is redacted to the end of its line',
  );
  assert.is(redactPasswords("PASSWORD E'a\\\nb' LOGIN"), "PASSWORD '<redacted>' LOGIN", 'an escaped newline');
});

/** The role's two settings as pg_dumpall prints them: values with a newline (and no backslash) as plain '…' literals. */
const HOSTILE = `CREATE ROLE admin;
ALTER ROLE admin WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$x:y';
CREATE ROLE mallory;
ALTER ROLE mallory WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS;
ALTER ROLE mallory SET search_path TO 'a
ALTER ROLE admin WITH x';
ALTER ROLE mallory SET temp_tablespaces TO '
; ALTER ROLE mallory SUPERUSER; --';
`;

test("a role's multi-line settings come over whole: no line of a literal is dropped, nothing of it runs as SQL", () => {
  // Values that hold a backslash are printed as E'…' (appendStringLiteralConn): the same attack in that form.
  const escaped = HOSTILE.replace("TO 'a\n", "TO E'a\\\\\n").replace("TO '\n;", "TO E'\\\\\n;");
  assert.match(escaped, "TO E'a\\\\\nALTER ROLE admin WITH x'");
  for (const dump of [HOSTILE, escaped]) {
    const r = rewriteGlobals(dump, { superuser: 'admin' });
    assert.equal(r.skipped, [
      'CREATE ROLE admin;',
      "ALTER ROLE admin WITH SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS PASSWORD '<redacted>';",
    ]);
    assert.is(r.sql, dump.split('\n').slice(2).join('\n'), 'everything else exactly as it was');
  }
});

test("quoted identifiers, dollar quotes and comments that hold ; or a role's statement are kept whole", () => {
  const dump =
    'CREATE ROLE "a;b";\n/* CREATE ROLE admin; */\nCOMMENT ON ROLE "a;b" IS $c$\nALTER ROLE admin WITH x;\n$c$;\n-- ALTER ROLE admin WITH y;\nCREATE ROLE "admin";\n';
  const r = rewriteGlobals(dump, { superuser: 'admin' });
  assert.equal(r.skipped, ['CREATE ROLE "admin";']);
  assert.is(r.sql, dump.replace('CREATE ROLE "admin";\n', ''));
});

test('a psql meta-command outside SQL is refused; one inside a literal or comment is text', () => {
  for (const dump of [
    'CREATE ROLE a;\n\\! id\n',
    'CREATE ROLE a;\n  \\gexec\n',
    'SELECT 1 \\g /tmp/x\n',
    'CREATE ROLE a;\nSELECT 1\n\\restrict k\n',
  ]) {
    assert.throws(
      () => rewriteGlobals(dump, { superuser: 'admin' }),
      (e: Error) => e.message === META_REFUSED,
      dump,
    );
  }
  assert.match(META_REFUSED, 'psql meta-command outside SQL, which the plugin will not run');
  const inside = "ALTER ROLE a SET x TO '\n\\! id';\n/*\n\\! id */\n-- \\! id\n";
  assert.is(rewriteGlobals(inside, { superuser: 'admin' }).sql, inside);
});

test('ordinary output is unchanged but for what the target has', () => {
  const plain = DUMP.replace(/\\(un)?restrict abc123\n/g, '');
  const r = rewriteGlobals(plain, { superuser: 'nobody-here' });
  assert.is(r.sql, plain);
  assert.equal(r.skipped, []);
});

test.run();
