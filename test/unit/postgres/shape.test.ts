import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  compareShapes,
  parseShape,
  shapeTotals,
  SHAPE_DB_SQL,
  withShapeSequences,
} from '../../../src/postgres/shape.ts';
import type { Fingerprint } from '../../../src/postgres/fingerprint.ts';

const test = suite('postgres/shape: every relation and its size, O(relations)');

const cluster = JSON.stringify({
  databases: [{ name: 'app', encoding: 'UTF8', collate: 'C', ctype: 'C' }],
  roles: [{ name: 'postgres', hash: 'scram-sha-256' }],
});
const db = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    relations: { 'public.accounts': 'r 8192 toast 0', 'public.accounts_pkey': 'i 16384' },
    sequences: { 'public.s': '41' },
    extensions: { plpgsql: '1.0' },
    objects: ['index public.accounts_pkey'],
    large_objects: 0,
    ...over,
  });
const shape = (over: Record<string, unknown> = {}) => parseShape(cluster, new Map([['app', db(over)]]));

test('equal shapes have no difference; totals count databases and relations', () => {
  assert.equal(compareShapes(shape(), shape()), []);
  assert.equal(shapeTotals(shape()), { databases: 1, relations: 2 });
});

test('a relation that grew or shrank, went or came, is named with its kind and bytes', () => {
  const grown = shape({ relations: { 'public.accounts': 'r 16384 toast 0', 'public.accounts_pkey': 'i 16384' } });
  assert.equal(compareShapes(shape(), grown), [
    'database app: relation public.accounts: r 8192 toast 0 → r 16384 toast 0 (kind, bytes)',
  ]);
  const gone = shape({ relations: { 'public.accounts': 'r 8192 toast 0' } });
  assert.equal(compareShapes(shape(), gone), ['database app: relation public.accounts_pkey missing after']);
  assert.equal(compareShapes(gone, shape()), ['database app: relation public.accounts_pkey new after']);
});

test('sequences, extensions, objects, large objects, roles and databases are compared too', () => {
  const other = parseShape(
    JSON.stringify({
      databases: [{ name: 'app', encoding: 'UTF8', collate: 'C', ctype: 'C' }],
      roles: [{ name: 'postgres', hash: 'md5' }],
    }),
    new Map([
      ['app', db({ sequences: { 'public.s': '42' }, extensions: { plpgsql: '1.1' }, objects: [], large_objects: 3 })],
    ]),
  );
  assert.equal(compareShapes(shape(), other), [
    'role postgres: password scram-sha-256 → md5',
    'database app: sequence public.s: 41 → 42',
    'database app: extension plpgsql: 1.0 → 1.1',
    'database app: index public.accounts_pkey missing after',
    'database app: large objects 0 → 3',
  ]);
  assert.equal(compareShapes(shape(), parseShape(cluster, new Map())), ['database app: missing after']);
});

test('the query reads sizes, never rows; temporary relations and the catalogs are left out', () => {
  assert.match(SHAPE_DB_SQL, 'pg_relation_size(c.oid)');
  assert.not.match(SHAPE_DB_SQL, /count\(\*\) (as r|from %I)|query_to_xml|md5\(t::text\)/);
  assert.match(SHAPE_DB_SQL, "c.relpersistence <> 't'");
  assert.match(SHAPE_DB_SQL, "not in ('pg_catalog', 'information_schema')");
});

test('an answer that is not JSON is a clear error', () => {
  assert.throws(() => parseShape('oops', new Map()), /cluster shape query returned something that is not JSON/);
});

test("sequences are not transactional: the values read before the applications started stand for the held snapshot's", () => {
  const fp: Fingerprint = {
    databases: {},
    roles: {},
    perDb: {
      app: {
        tables: {},
        sequences: { 'public.s': '57' },
        extensions: {},
        objects: [],
        largeObjects: { count: 0, checksum: '0' },
      },
    },
  };
  assert.equal(withShapeSequences(fp, shape()).perDb.app?.sequences, { 'public.s': '41' });
  assert.equal(
    withShapeSequences(fp, parseShape(cluster, new Map())).perDb.app?.sequences,
    { 'public.s': '57' },
    'a database the shape lacks keeps its own',
  );
});

test.run();
