import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseFacts } from '../../../src/postgres/facts.ts';
import { PATH_FUNCTIONS_SQL, parsePathFunctions, verifyPathFunctions } from '../../../src/postgres/path-functions.ts';

const test = suite("functions the schema's restore runs with an empty search_path");

const facts = (pathFunctions?: DatabaseFacts['pathFunctions']): DatabaseFacts =>
  ({ extensions: [], relations: 0, ...(pathFunctions ? { pathFunctions } : {}) }) as unknown as DatabaseFacts;

test('an index or CHECK on a SQL or PL/pgSQL function without its own search_path is named, with the statement that pins it', () => {
  const found = parsePathFunctions(
    JSON.stringify({
      count: 1,
      items: [
        {
          name: 'index public.orders_tenant calls public.tenant_of(integer)',
          fix: 'ALTER FUNCTION public.tenant_of(integer) SET search_path = public, pg_catalog',
        },
      ],
    }),
  );
  const [f] = verifyPathFunctions(new Map([['app', facts(found)]]));
  assert.is(f?.status, 'warn');
  assert.match(f?.found ?? '', 'app (1): index public.orders_tenant calls public.tenant_of(integer)');
  assert.match(f?.fix ?? '', '--rehearse');
  assert.match(f?.fix ?? '', 'in app: ALTER FUNCTION public.tenant_of(integer) SET search_path = public, pg_catalog');
  assert.is(verifyPathFunctions(new Map([['app', facts({ count: 0, items: [] })]]))[0]?.status, 'pass');
  assert.equal(verifyPathFunctions(new Map([['app', facts()]])), [], 'not asked: nothing said');
});

test('the query leaves out what is safe: pg_catalog, a SET search_path, a SQL-standard body', () => {
  assert.match(PATH_FUNCTIONS_SQL, "fn.nspname <> 'pg_catalog'");
  assert.match(PATH_FUNCTIONS_SQL, "'search_path=%'");
  assert.match(PATH_FUNCTIONS_SQL, "'prosqlbody') is null");
  assert.match(PATH_FUNCTIONS_SQL, "l.lanname in ('sql', 'plpgsql')");
});

test.run();
