import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adjustNewDump, adjustOldDump, contentAdjustments, firstDifferences } from '../../support/pg/dump-adjust.ts';
import { asciiDatabases, regressDumpFilter } from '../../support/pg/regression-recipe.ts';

// What the 15 client printed for the regression database of 13 (old) and after its upgrade to 15 (new).
const OLD = `--
-- Dumped from database version 13.23
\\restrict aB3
CREATE TYPE public.arrayrange AS RANGE (
    subtype = integer[]
);


CREATE PROCEDURE public.ptest5(a integer, b text, c integer DEFAULT 100)
ALTER PROCEDURE public.ptest5(a integer, b text, c integer) OWNER TO admin;
CREATE OPERATOR CLASS public.part_test_int4_ops
    FOR TYPE integer USING hash FAMILY public.part_test_int4_ops AS
    OPERATOR 1 =(integer,integer) ,
    FUNCTION 2 (integer, integer) public.part_hashint4_noop(integer,bigint);
\\unrestrict aB3
`;
const NEW = `--
-- Dumped from database version 15.14
\\restrict Zq9
CREATE TYPE public.arrayrange AS RANGE (
    subtype = integer[],
    multirange_type_name = public.arraymultirange
);
CREATE PROCEDURE public.ptest5(IN a integer, IN b text, IN c integer DEFAULT 100)
ALTER PROCEDURE public.ptest5(IN a integer, IN b text, IN c integer) OWNER TO admin;
CREATE OPERATOR CLASS public.part_test_int4_ops
    FOR TYPE integer USING hash FAMILY public.part_test_int4_ops AS
    OPERATOR 1 =(integer,integer);
ALTER OPERATOR FAMILY public.part_test_int4_ops USING hash ADD
    FUNCTION 2 (integer, integer) public.part_hashint4_noop(integer,bigint);
\\unrestrict Zq9
`;

test('13 → 15: the new dump loses what 14 added words for, both lose the versions and restrict keys: equal', () => {
  assert.equal(firstDifferences(adjustOldDump(OLD, 13, 15), adjustNewDump(NEW, 13, 15)), []);
});

test('a pair without the 14 changes keeps the new dump as it is: the differences show as diff -u prints them', () => {
  const diff = firstDifferences(adjustOldDump(OLD, 13, 15), adjustNewDump(NEW, 14, 15));
  assert.ok(diff.includes('+    multirange_type_name = public.arraymultirange'), diff.join('\n'));
  assert.ok(
    diff.includes('-CREATE PROCEDURE public.ptest5(a integer, b text, c integer DEFAULT 100)'),
    diff.join('\n'),
  );
});

test('the objects pg_upgrade refuses are dropped for the pairs that have the trap', () => {
  assert.equal([...contentAdjustments(13, 15).keys()], ['regression']);
  assert.match(
    contentAdjustments(13, 15).get('regression')?.join(';') ?? '',
    /DROP OPERATOR public\.#@# \(bigint, NONE\)/,
  );
  assert.equal(contentAdjustments(14, 15).size, 0);
  assert.match(contentAdjustments(15, 17).get('regression')?.join(';') ?? '', /DROP COLUMN aclitem/);
});

test('the ASCII databases cover space to tilde, each name within NAMEDATALEN', () => {
  const names = asciiDatabases();
  const all = new Set(names.join(''));
  for (let c = 32; c <= 126; c++) assert.ok(all.has(String.fromCharCode(c)), `char ${c}`);
  for (const n of names) assert.ok(Buffer.byteLength(n) <= 63, n);
});

test("the dump loses the two superusers' roles, nothing else", () => {
  const d =
    'CREATE ROLE admin;\nALTER ROLE admin WITH SUPERUSER LOGIN;\nCREATE ROLE regress_x;\nALTER ROLE postgres WITH SUPERUSER;\n';
  assert.is(regressDumpFilter(d), 'CREATE ROLE regress_x;\n');
});

test("15 → 17: views lose 16's dropped qualifiers, XMLSERIALIZE its NO INDENT, a rule its UPDATE target's AS; INSERT keeps it", () => {
  const old = [
    'CREATE VIEW public.limit_thousand_v_5 AS',
    ' SELECT onek.thousand',
    '   FROM public.onek',
    '  WHERE (onek.thousand < 995);',
    ' SELECT (XMLSERIALIZE(CONTENT \'good\'::xml AS character(10)))::character(10) AS "xmlserialize";',
    "    ON UPDATE TO public.rules_src DO INSTEAD  UPDATE public.rules_log trgt SET tag = 'updated'::text",
    '    ON INSERT TO public.rules_src DO INSTEAD  INSERT INTO public.rules_log AS trgt (f1, f2)',
    '',
  ].join('\n');
  const neu = [
    'CREATE VIEW public.limit_thousand_v_5 AS',
    ' SELECT thousand',
    '   FROM public.onek',
    '  WHERE (thousand < 995);',
    ' SELECT (XMLSERIALIZE(CONTENT \'good\'::xml AS character(10) NO INDENT))::character(10) AS "xmlserialize";',
    "    ON UPDATE TO public.rules_src DO INSTEAD  UPDATE public.rules_log AS trgt SET tag = 'updated'::text",
    '    ON INSERT TO public.rules_src DO INSTEAD  INSERT INTO public.rules_log AS trgt (f1, f2)',
    '',
  ].join('\n');
  assert.equal(firstDifferences(adjustOldDump(old, 15, 17), adjustNewDump(neu, 15, 17)), []);
  assert.ok(firstDifferences(adjustOldDump(old, 16, 17), adjustNewDump(neu, 16, 17)).length > 0);
});

test.run();
