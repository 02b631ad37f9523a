import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../support/paths.ts';
import { autoConfSql } from '../../../src/postgres/alter-system.ts';
import { DUMP_RESTORE_SCRIPT } from '../../../src/postgres/dump-script.ts';
import { CATALOG_PARTS } from '../../../src/postgres/fingerprint.ts';
import { objects } from '../../../src/postgres/queries.ts';
import { restoreTrapsSql } from '../../../src/postgres/restore-traps.ts';
import { refreshCollationsSql, validateDatabaseSql } from '../../../src/postgres/validate-sql.ts';

// The plugin's superuser sessions run these texts against users' databases. A login role may create a function,
// operator or type in `public` that wins over pg_catalog's by argument type (CVE-2018-1058); the sessions run
// with search_path=pg_catalog (session.ts), and, as pg_dump does, the text itself names pg_catalog's. This is a
// heuristic scan of the text, not a parser: the calls, catalogs, casts and operators that it knows of.

/** Functions the SQL calls (or might): each must be written pg_catalog.name(…). coalesce, greatest, nullif are syntax. */
const FUNCTIONS = [
  'count',
  'sum',
  'max',
  'min',
  'string_agg',
  'array_agg',
  'quote_ident',
  'quote_literal',
  'quote_nullable',
  'format',
  'current_setting',
  'set_config',
  'current_database',
  'now',
  'md5',
  'length',
  'lower',
  'upper',
  'substr',
  'substring',
  'left',
  'right',
  'replace',
  'regexp_replace',
  'regexp_split_to_table',
  'strpos',
  'split_part',
  'concat',
  'concat_ws',
  'encode',
  'decode',
  'convert_to',
  'convert_from',
  'jsonb_build_object',
  'json_build_object',
  'jsonb_build_array',
  'json_build_array',
  'json_agg',
  'jsonb_agg',
  'json_object_agg',
  'jsonb_object_agg',
  'to_json',
  'to_jsonb',
  'row_to_json',
  'record_out',
  'textin',
  'hashtext',
  'textcat',
  'unnest',
  'xpath',
  'query_to_xml',
  'format_type',
  'array_to_string',
  'host',
  'row_number',
  'generate_series',
  'array_length',
  'string_to_array',
];

/** What in `sql` is called, read, cast to or operated with unqualified: one entry per finding, empty when none. */
export function unqualified(sql: string): string[] {
  const found: string[] = [];
  const add = (re: RegExp, text: string) => {
    for (const m of text.matchAll(re)) found.push(m[0].trim());
  };
  add(new RegExp(`(?<![\\w.$])(${FUNCTIONS.join('|')})\\s*\\(`, 'gi'), sql);
  add(/(?<![\w.$])pg_\w+\s*\(/gi, sql); // any pg_… function
  add(/\b(from|join)\s+(?!pg_catalog\.)pg_\w+/gi, sql); // a catalog
  add(/::\s*(?!pg_catalog\.)\w+/g, sql); // a cast to a type by its bare name
  const ops = sql.replace(/operator\(pg_catalog\.[^)\s]+\)/gi, ' ');
  add(/\|\||!~|~|->>?|(?<!-)(?<=\s)-(?=\s)|\b(i?like|similar\s+to)\b/gi, ops);
  return found;
}

/** Every exported `…_SQL` string of src/postgres, and the SQL that functions and scripts there build. */
async function constants(): Promise<Record<string, string>> {
  const dir = path.join(repoRoot, 'src', 'postgres');
  const out: Record<string, string> = {};
  for (const f of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort()) {
    const m = (await import(pathToFileURL(path.join(dir, f)).href)) as Record<string, unknown>;
    for (const [k, v] of Object.entries(m)) if (/_SQL$/.test(k) && typeof v === 'string') out[`${f} ${k}`] = v;
  }
  for (const major of [10, 14, 15, 18]) {
    out[`restoreTrapsSql(false, ${major})`] = restoreTrapsSql(false, major);
    out[`restoreTrapsSql(true, ${major})`] = restoreTrapsSql(true, major);
    out[`validateDatabaseSql(${major})`] = validateDatabaseSql(major);
    out[`refreshCollationsSql(${major})`] = refreshCollationsSql(major);
  }
  out.CATALOG_PARTS = CATALOG_PARTS;
  out['objects(…)'] = objects(`select 'n' as name, null as fix`);
  out.autoConfSql = autoConfSql(['max_wal_size', 'wal_level']);
  let i = 0;
  for (const [, name, q] of DUMP_RESTORE_SCRIPT.matchAll(/^(Q|QT)="(select [^"]*)"$/gm))
    out[`DUMP_RESTORE_SCRIPT ${name} ${++i}`] = q as string;
  return out;
}

test('the scan finds what it looks for (so that a clean answer means something)', () => {
  assert.equal(
    unqualified(`select quote_ident(n.nspname) || '.' from pg_namespace n where n.nspname !~ '^pg_' and x like 'a%'`),
    ['quote_ident(', 'from pg_namespace', '||', '!~', 'like'],
  );
  assert.equal(
    unqualified(
      `select count(*)::int, pg_relation_size(c.oid), to_jsonb(d) - 'datacl', j ->> 'k' from pg_catalog.pg_class c`,
    ),
    ['count(', 'to_jsonb(', 'pg_relation_size(', '::int', '-', '->>'],
  );
  assert.equal(
    unqualified(`select pg_catalog.count(*)::pg_catalog.int4, a operator(pg_catalog.||) b, a operator(pg_catalog.~~) 'x%',
    c.oid >= 16384, n_tup_ins + n_tup_upd - 1 from pg_catalog.pg_class c left join pg_catalog.pg_am a on true`),
    ['-'],
    'a bare minus is flagged (jsonb - unknown has no exact match in pg_catalog); coalesce, joins and comparisons are not',
  );
});

test("the constant SQL of src/postgres names pg_catalog's functions, catalogs, casts and operators", async () => {
  const all = await constants();
  for (const k of [
    'queries.ts SERVER_SQL',
    'queries.ts DATABASE_SQL',
    'fingerprint.ts FINGERPRINT_DB_SQL',
    'shape.ts SHAPE_DB_SQL',
    'validate-sql.ts AMCHECK_SQL',
    'dump-script.ts TARGET_CONTENT_SQL',
    'DUMP_RESTORE_SCRIPT Q 1',
    'DUMP_RESTORE_SCRIPT Q 2',
    'DUMP_RESTORE_SCRIPT QT 3',
  ]) {
    assert.ok(all[k], `${k} is scanned`);
  }
  const bad = Object.entries(all)
    .map(([k, sql]) => [k, unqualified(sql)] as const)
    .filter(([, u]) => u.length);
  assert.equal(
    bad.map(([k, u]) => `${k}: ${[...new Set(u)].join(' ')}`),
    [],
  );
});

test.run();
