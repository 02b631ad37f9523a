import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseFacts } from '../../../src/postgres/facts.ts';
import { LOAD_CODE_SQL, parseLoadCode, verifyLoadCode } from '../../../src/postgres/load-code.ts';

const test = suite('--method dump refuses expressions that the load would evaluate as superuser');

const none = { count: 0, items: [] };
const facts = (loadCode?: DatabaseFacts['loadCode']): DatabaseFacts => ({
  extensions: [],
  relations: 300,
  regColumns: none,
  postfixOperators: none,
  userConversions: none,
  attverColumns: none,
  ...(loadCode ? { loadCode } : {}),
});
const item = (i: number) => ({
  name: `CHECK c${String(i).padStart(2, '0')} of table public.t calls public.f(integer), owned by mallory`,
  fix: `ALTER TABLE public.t DROP CONSTRAINT c${String(i).padStart(2, '0')}`,
});

test('not asked (another method): no finding at all', () => {
  assert.equal(verifyLoadCode(undefined), []);
  assert.equal(verifyLoadCode(new Map([['app', facts()]])), []);
});

test('asked, none found: a pass', () => {
  const [f] = verifyLoadCode(
    new Map([
      ['app', facts(none)],
      ['postgres', facts(none)],
    ]),
  );
  assert.is(f?.id, 'load-code');
  assert.is(f?.status, 'pass');
});

test('found: a FAIL naming each object, the function and its owner per database, the statement for each, and the in-place way', () => {
  const one = {
    count: 1,
    items: [
      {
        name: 'generated column public.g.y calls public.gen(integer), owned by eve',
        fix: 'ALTER TABLE public.g ALTER COLUMN y DROP EXPRESSION',
      },
    ],
  };
  const [f] = verifyLoadCode(
    new Map([
      ['app', facts(none)],
      ['mallorys', facts(one)],
    ]),
  );
  assert.is(f?.status, 'fail');
  assert.is(
    f?.found,
    "pg_restore would evaluate these per row as the new instance's superuser, running functions of roles who are not superusers: " +
      'mallorys (1): generated column public.g.y calls public.gen(integer), owned by eve',
  );
  assert.match(
    f?.fix ?? '',
    /^upgrade in place \(--method link or copy: pg_upgrade never evaluates them\), or have their owners drop or replace them/,
  );
  assert.match(f?.fix ?? '', 'in mallorys: ALTER TABLE public.g ALTER COLUMN y DROP EXPRESSION');
  assert.not.match(f?.fix ?? '', 'in app:');
});

test('the first 20 are named, then a count that the server made (however many there are)', () => {
  const many = { count: 57, items: Array.from({ length: 21 }, (_, i) => item(i + 1)) };
  const [f] = verifyLoadCode(new Map([['db', facts(many)]]));
  assert.match(f?.found ?? '', 'db (57): ');
  assert.match(f?.found ?? '', 'c20 of table');
  assert.not.match(f?.found ?? '', 'c21 ');
  assert.match(f?.found ?? '', 'and 37 more');
  assert.match(f?.fix ?? '', '(and the same for the 37 more)');
});

test('LOAD_CODE_SQL qualifies everything it calls and reads (it runs as superuser), and parses', () => {
  const unqualified = LOAD_CODE_SQL.replace(/pg_catalog\.\w+/g, '').match(
    /\b(format|json_agg|json_build_object|count|max|row_number|to_jsonb)\s*\(/g,
  );
  assert.is(unqualified, null, `unqualified: ${unqualified?.join(', ')}`);
  assert.not.match(LOAD_CODE_SQL, /::(?!pg_catalog\.)/, "every cast names pg_catalog's type");
  assert.not.match(LOAD_CODE_SQL.replace(/pg_catalog\.pg_\w+/g, ''), /\b(from|join)\s+pg_\w+/);
  assert.match(LOAD_CODE_SQL, 'c.convalidated', 'NOT VALID constraints come after the data');
  assert.ok(encodeURIComponent(LOAD_CODE_SQL).length < 9000, "it travels in the exec's URL");
  assert.equal(parseLoadCode('{"count": 1, "items": [{"name": "x", "fix": null}]}'), {
    count: 1,
    items: [{ name: 'x' }],
  });
});

test.run();
