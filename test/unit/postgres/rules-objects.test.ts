import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDatabaseFacts, type DatabaseFacts, type ServerFacts } from '../../../src/postgres/facts.ts';
import { DATABASE_SQL } from '../../../src/postgres/queries.ts';
import type { DbRuleInput } from '../../../src/postgres/rules.ts';
import { verifyPgUpgradeRules } from '../../../src/postgres/rules-pg-upgrade.ts';
import { verifyTypeRules } from '../../../src/postgres/rules-types.ts';

const test = suite('check names the objects it fails on, with the statement for each');

const none = { count: 0, items: [] };
const facts = (over: Partial<DatabaseFacts> = {}): DatabaseFacts => ({
  extensions: [],
  relations: 300,
  regColumns: none,
  postfixOperators: none,
  userConversions: none,
  attverColumns: none,
  ...over,
});
const server = { versionNum: 130000, prepared: 0, slots: [], databases: [] } as unknown as ServerFacts;
const input = (dbs: Record<string, DatabaseFacts>, from = 13, to = 15): DbRuleInput => ({
  from,
  to,
  method: 'link',
  server,
  databases: new Map(Object.entries(dbs)),
  targetIsStock: true,
});
const rule = (fs: ReturnType<typeof verifyPgUpgradeRules>, id: string) => fs.find((f) => f.id === id);

test('a postfix operator is named, with its DROP OPERATOR statement', () => {
  const op = {
    count: 1,
    items: [{ name: 'public.#!#(bigint, NONE)', fix: 'DROP OPERATOR public.#!# (bigint, NONE)' }],
  };
  const f = rule(verifyPgUpgradeRules(input({ postgres: facts({ postfixOperators: op }) })), 'postfix-operators');
  assert.is(f?.status, 'fail');
  assert.match(f?.found ?? '', 'postgres (1): public.#!#(bigint, NONE)');
  assert.match(f?.fix ?? '', 'in postgres: DROP OPERATOR public.#!# (bigint, NONE)');
});

test('more than 20 objects: the first 20 are named, the rest counted', () => {
  const items = Array.from({ length: 21 }, (_, k) => ({
    name: `public.t${String(k).padStart(2, '0')}.c`,
    fix: `ALTER TABLE public.t${k} ALTER COLUMN c TYPE text`,
  }));
  const f = rule(verifyPgUpgradeRules(input({ app: facts({ regColumns: { count: 57, items } }) })), 'reg-columns');
  assert.match(f?.found ?? '', 'app (57): public.t00.c, ');
  assert.match(f?.found ?? '', 'public.t19.c and 37 more');
  assert.not.match(f?.found ?? '', 'public.t20.c');
  assert.match(f?.fix ?? '', '(and the same for the 37 more)');
});

test('encoding conversions, pg_attver, WITH OIDS and removed types name their objects', () => {
  const one = (name: string, fix?: string) => ({ count: 1, items: [{ name, ...(fix ? { fix } : {}) }] });
  const conv = rule(
    verifyPgUpgradeRules(
      input({ app: facts({ userConversions: one('public.myconv', 'DROP CONVERSION public.myconv') }) }, 12, 14),
    ),
    'encoding-conversions',
  );
  assert.match(conv?.found ?? '', 'app (1): public.myconv');
  assert.match(conv?.fix ?? '', 'DROP CONVERSION public.myconv');
  const attver = rule(
    verifyPgUpgradeRules(
      input(
        { app: facts({ attverColumns: one('public.t.c', 'ALTER TABLE public.t ALTER COLUMN c RESET (pg_attver)') }) },
        17,
        18,
      ),
    ),
    'pg-attver',
  );
  assert.match(attver?.found ?? '', 'public.t.c');
  assert.match(attver?.fix ?? '', 'ALTER TABLE public.t ALTER COLUMN c RESET (pg_attver)');
  const old = facts({
    withOids: one('public.legacy', 'ALTER TABLE public.legacy SET WITHOUT OIDS'),
    typeColumns: { abstime: one('public.t.at'), reltime: one('public.t.rt') },
  });
  const types = verifyTypeRules(input({ app: old }, 10, 14));
  assert.match(rule(types, 'with-oids')?.fix ?? '', 'ALTER TABLE public.legacy SET WITHOUT OIDS');
  assert.match(rule(types, 'removed-types')?.found ?? '', 'app (2): public.t.at, public.t.rt');
});

test('DATABASE_SQL lists objects and qualifies what it calls; an older answer with bare counts still parses', () => {
  assert.match(DATABASE_SQL, "pg_catalog.format('DROP OPERATOR %I.%s (%s, NONE)'");
  assert.match(DATABASE_SQL, 'z.r <= 21');
  // It travels in the exec's URL: 19 kB of it was refused (HTTP 431, request header fields too large).
  assert.ok(
    encodeURIComponent(DATABASE_SQL).length < 9000,
    `${encodeURIComponent(DATABASE_SQL).length} bytes in the URL`,
  );
  const unqualified = DATABASE_SQL.replace(/pg_catalog\.\w+/g, '').match(
    /\b(format|format_type|json_agg|json_build_object|count|to_jsonb|array_to_string|quote_ident)\s*\(/g,
  );
  assert.is(unqualified, null, `unqualified calls: ${unqualified?.join(', ')}`);
  assert.not.match(DATABASE_SQL.replace(/pg_catalog\.pg_\w+/g, ''), /\b(from|join)\s+pg_\w+/);
  const f = parseDatabaseFacts(
    JSON.stringify({
      extensions: [],
      relations: 1,
      reg_columns: ['public.t.c'],
      postfix_operators: 2,
      user_conversions: { count: 1, items: [{ name: 'public.x', fix: null }] },
      attver_columns: 0,
    }),
  );
  assert.equal(
    [f.regColumns.count, f.postfixOperators.count, f.userConversions.items, f.attverColumns.count],
    [1, 2, [{ name: 'public.x' }], 0],
  );
});

test.run();
