import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseFacts, ServerFacts } from '../../../src/postgres/facts.ts';
import { generatedChildrenSql, parseRestoreTraps, restoreTrapsSql } from '../../../src/postgres/restore-traps.ts';
import { verifyPgUpgradeRules } from '../../../src/postgres/rules-pg-upgrade.ts';

const test = suite('generated columns of children under a plain parent column: refused from 16');

const CHILD = {
  name: 'public.gtest_normal_child.b (a child of public.gtest_normal)',
  fix: 'ALTER TABLE public.gtest_normal_child NO INHERIT public.gtest_normal; ALTER TABLE public.gtest_normal_child ALTER COLUMN b DROP EXPRESSION; ALTER TABLE public.gtest_normal_child INHERIT public.gtest_normal',
};
const traps = parseRestoreTraps(
  JSON.stringify({ path_functions: { count: 0, items: [] }, generated_children: { count: 1, items: [CHILD] } }),
);
const facts = { extensions: [], relations: 0, ...traps } as unknown as DatabaseFacts;
const server = { databases: [], preparedXacts: 0, slots: [] } as unknown as ServerFacts;
const rule = (from: number, to: number) =>
  verifyPgUpgradeRules({ from, to, server, databases: new Map([['regression', facts]]) } as never).find(
    (f) => f.id === 'generated-children',
  );

test('into 16 or later: FAIL, naming the column and its parent, with the statements that keep its values', () => {
  const f = rule(15, 17);
  assert.is(f?.status, 'fail');
  assert.match(f?.found ?? '', 'regression (1): public.gtest_normal_child.b (a child of public.gtest_normal)');
  assert.match(f?.fix ?? '', 'DROP EXPRESSION');
  assert.match(f?.fix ?? '', 'NO INHERIT');
});

test('a pair on one side of 16 has no such trap: nothing said', () => {
  assert.is(rule(13, 15), undefined);
  assert.is(rule(16, 17), undefined);
});

test('the query: attgenerated from 12 on; before 12 no rows, no column read that is not there', () => {
  assert.match(generatedChildrenSql(15), "a.attgenerated <> ''");
  assert.match(generatedChildrenSql(15), "p.attgenerated = ''");
  assert.not.match(generatedChildrenSql(11), 'attgenerated');
  assert.match(restoreTrapsSql(true, 15), "'generated_children'");
});

test.run();
