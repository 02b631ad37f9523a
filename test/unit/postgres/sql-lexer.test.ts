import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { splitSql, type SqlPiece } from '../../../src/postgres/sql-lexer.ts';

const test = suite('SQL cut into whole statements as psql cuts it: literals, dollar quotes, identifiers, comments');

/** The statements' own text (after their blanks and comments), and the kinds, in order. */
const bodies = (pieces: SqlPiece[]) => pieces.map((p) => `${p.kind}: ${p.text.slice(p.lead)}`.trimEnd());

test('the pieces joined are the input, exactly', () => {
  const sql = "--\n-- Roles\n--\n\nCREATE ROLE a;\nALTER ROLE a SET x TO 'b\nc';  \n\\restrict k\n/* end */";
  assert.is(
    splitSql(sql)
      .map((p) => p.text)
      .join(''),
    sql,
  );
  assert.equal(splitSql(''), []);
});

test('a multi-line standard string holds its lines, a line of it that reads like a statement included', () => {
  const sql =
    "ALTER ROLE mallory SET search_path TO 'a\nALTER ROLE admin WITH x';\nALTER ROLE mallory SET temp_tablespaces TO '\n; ALTER ROLE mallory SUPERUSER; --';\n";
  assert.equal(bodies(splitSql(sql)), [
    "statement: ALTER ROLE mallory SET search_path TO 'a\nALTER ROLE admin WITH x';",
    "statement: ALTER ROLE mallory SET temp_tablespaces TO '\n; ALTER ROLE mallory SUPERUSER; --';",
  ]);
});

test("standard strings double their quotes and keep backslashes; E'…' strings escape with a backslash", () => {
  assert.equal(bodies(splitSql("SELECT 'it''s; \\';\nSELECT E'\\'; still' , e'\\\\';\nSELECT 1;")), [
    "statement: SELECT 'it''s; \\';",
    "statement: SELECT E'\\'; still' , e'\\\\';",
    'statement: SELECT 1;',
  ]);
  assert.equal(
    bodies(splitSql("SELECT xe'\\';SELECT 2;")),
    ["statement: SELECT xe'\\';", 'statement: SELECT 2;'],
    'a word other than E: a standard string',
  );
});

test('a literal continued on a later line keeps its kind (E: backslash escapes)', () => {
  assert.equal(bodies(splitSql("SELECT E'a'\n'\\'; b';\nSELECT 1;")), [
    "statement: SELECT E'a'\n'\\'; b';",
    'statement: SELECT 1;',
  ]);
});

test('dollar quotes, with and without a tag; a $ inside a word opens none', () => {
  assert.equal(bodies(splitSql("SELECT $$ ; ' $$;\nSELECT $f$ $$ ; $g$ $f$;\nSELECT a$b, c$d$;\nSELECT $1;")), [
    "statement: SELECT $$ ; ' $$;",
    'statement: SELECT $f$ $$ ; $g$ $f$;',
    'statement: SELECT a$b, c$d$;',
    'statement: SELECT $1;',
  ]);
});

test('quoted identifiers, comments (nested /* */) and parentheses hold a ; that ends nothing', () => {
  const sql = 'CREATE ROLE "x;""y";\n-- a; comment \'\nSELECT /* a /* ; */ ; \' */ 1;\nSELECT (1; 2);\n';
  assert.equal(bodies(splitSql(sql)), [
    'statement: CREATE ROLE "x;""y";',
    "statement: SELECT /* a /* ; */ ; ' */ 1;",
    'statement: SELECT (1; 2);',
  ]);
  assert.is(
    splitSql(sql)[1]?.text.slice(0, splitSql(sql)[1]?.lead),
    "-- a; comment '\n",
    'the comment leads the statement after it',
  );
});

test('a backslash outside every literal and comment is a psql meta-command, to the end of its line', () => {
  const sql = "SELECT '\\! no';\n  \\! id\nSELECT 1 \\gexec\n-- \\! no\nSELECT E'\\\\' /* \\! */;\n";
  assert.equal(bodies(splitSql(sql)), [
    "statement: SELECT '\\! no';",
    'rest:',
    'meta: \\! id',
    'rest: SELECT 1',
    'meta: \\gexec',
    "statement: SELECT E'\\\\' /* \\! */;",
  ]);
});

test('an unterminated literal or comment runs to the end; text after the last ; is the rest', () => {
  assert.equal(bodies(splitSql("SELECT 1; SELECT 'a;\n\\! x")), ['statement: SELECT 1;', "rest: SELECT 'a;\n\\! x"]);
  assert.equal(bodies(splitSql('SELECT 1; /* ; \\! x')), ['statement: SELECT 1;', 'rest:']);
});

test.run();
