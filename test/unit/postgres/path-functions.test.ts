import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseFacts } from '../../../src/postgres/facts.ts';
import { verifyPathFunctions } from '../../../src/postgres/path-functions.ts';
import { parseRestoreTraps, restoreTrapsSql } from '../../../src/postgres/restore-traps.ts';

const pathFunctionsSql = (dump: boolean) => restoreTrapsSql(dump, 15);

const test = suite("functions the schema's restore runs with an empty search_path");

const facts = (pathFunctions?: DatabaseFacts['pathFunctions']): DatabaseFacts =>
  ({ extensions: [], relations: 0, ...(pathFunctions ? { pathFunctions } : {}) }) as unknown as DatabaseFacts;

test('an index or CHECK on a SQL or PL/pgSQL function without its own search_path is named, with the statement that pins it', () => {
  const { pathFunctions: found } = parseRestoreTraps(
    JSON.stringify({
      generated_children: { count: 0, items: [] },
      path_functions: {
        count: 1,
        items: [
          {
            name: 'index public.orders_tenant calls public.tenant_of(integer)',
            fix: 'ALTER FUNCTION public.tenant_of(integer) SET search_path = public, pg_catalog',
          },
        ],
      },
    }),
  );
  const [f] = verifyPathFunctions(new Map([['app', facts(found)]]), 'link');
  assert.is(f?.status, 'warn');
  assert.match(f?.found ?? '', 'app (1): index public.orders_tenant calls public.tenant_of(integer)');
  assert.match(f?.fix ?? '', '--rehearse');
  assert.match(f?.fix ?? '', 'in app: ALTER FUNCTION public.tenant_of(integer) SET search_path = public, pg_catalog');
  assert.is(verifyPathFunctions(new Map([['app', facts({ count: 0, items: [] })]]), 'link')[0]?.status, 'pass');
  assert.match(verifyPathFunctions(new Map([['app', facts(found)]]), 'dump')[0]?.found ?? '', 'on the loaded rows');
  assert.equal(verifyPathFunctions(new Map([['app', facts()]]), 'link'), [], 'not asked: nothing said');
});

test('the query leaves out what is safe: pg_catalog, a SET search_path, a SQL-standard body; in place, what is not inlined', () => {
  for (const sql of [pathFunctionsSql(false), pathFunctionsSql(true)]) {
    assert.match(sql, "fn.nspname <> 'pg_catalog'");
    assert.match(sql, "'search_path=%'");
    assert.match(sql, "'prosqlbody') is null");
  }
  assert.match(pathFunctionsSql(false), "l.lanname in ('sql')");
  assert.not.match(pathFunctionsSql(false), 'pg_constraint k', 'in place the constraints are made on empty tables');
  assert.match(pathFunctionsSql(true), "l.lanname in ('sql', 'plpgsql')");
  assert.match(pathFunctionsSql(true), 'belongs to an extension', "a load's CREATE EXTENSION loses the setting");
});

test.run();
