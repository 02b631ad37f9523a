import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  EXTENSION_UPDATES_SQL,
  GUARDED_UPDATE_SQL,
  GUARDED_UPDATES_SH,
  parseSkipped,
  quoteIdent,
  SKIPPED_MARK,
  skippedText,
  updateStatement,
} from '../../../src/postgres/extension-guard.ts';
import { POST_UPGRADE_LOCAL_SCRIPT } from '../../../src/postgres/probe-scripts.ts';
import { UPDATE_EXTENSIONS_SCRIPT } from '../../../src/postgres/upgrade-script.ts';
import { UPDATE_EXTENSIONS_SQL, validateDatabaseSql } from '../../../src/postgres/validate-sql.ts';

const skipped = {
  database: 'app',
  extension: 'hst"ore',
  schema: 'public',
  total: 23,
  offenders: Array.from({ length: 20 }, (_, i) => `function public.f${i}(name) owned by mallory`),
};

test('a skipped update names its database, extension, schema, the first offenders and how many more, and the statement', () => {
  const t = skippedText(skipped);
  assert.match(t, 'extension hst"ore in database app (schema public) was not updated');
  assert.match(t, 'function public.f0(name) owned by mallory; ');
  assert.match(t, 'function public.f19(name) owned by mallory; and 3 more.');
  assert.match(t, 'then run in database app: ALTER EXTENSION "hst""ore" UPDATE;');
  assert.is(updateStatement({ extension: 'hstore' }), 'ALTER EXTENSION "hstore" UPDATE;');
  assert.is(quoteIdent('a"b'), '"a""b"');
});

test('parseSkipped reads the marked lines of each database among other output, and nothing from an empty array', () => {
  const line = (xs: unknown[]) => `${SKIPPED_MARK} ${JSON.stringify(xs)}`;
  const out = [
    'pgupgrade: something',
    line([skipped]),
    line([]),
    `extensions 12`,
    line([{ ...skipped, database: 'b' }]),
  ].join('\n');
  assert.equal(
    parseSkipped(out).map((s) => s.database),
    ['app', 'b'],
  );
  assert.equal(parseSkipped('extensions 3\nanalyze 4'), []);
  // PSQL_SCRIPT joins a database's lines with spaces; the mark still leads its one line.
  assert.equal(parseSkipped(line([skipped])).length, 1);
});

test('the check qualifies every catalog and function with pg_catalog, and psql expands nothing in it', () => {
  const names =
    /(?<![.\w])(pg_(?:extension|namespace|depend|roles|proc|operator|type|class|available_extensions)|aclexplode|has_schema_privilege|format|count|array_agg|row_number|pg_get_userbyid|jsonb_build_object|jsonb_build_array|current_database)\b/g;
  assert.equal(GUARDED_UPDATE_SQL.match(names), null);
  // psql reads the guarded update from a file: a :name outside quotes would be replaced by a psql variable.
  assert.not.match(GUARDED_UPDATE_SQL.replace(/::/g, ''), /:[A-Za-z0-9_]/);
  assert.match(EXTENSION_UPDATES_SQL, 'a.default_version <> e.extversion');
  assert.is(UPDATE_EXTENSIONS_SQL, GUARDED_UPDATE_SQL);
  assert.match(validateDatabaseSql(13), "'extension_risks'");
});

test("guarded_updates keeps update_extensions.sql's \\connect lines, each followed by the guarded update, and drops its ALTERs", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extguard-'));
  try {
    const file = path.join(dir, 'update_extensions.sql');
    fs.writeFileSync(
      file,
      '\\connect postgres\nALTER EXTENSION "hstore" UPDATE;\n\\connect -reuse-previous=on "dbname=\'a b\'"\nALTER EXTENSION "cube" UPDATE;\n',
    );
    const out = execFileSync(
      'sh',
      ['-c', `${GUARDED_UPDATES_SH}\nguarded_updates "$1" "$2"`, 'sh', file, 'select 1; -- $x "q"'],
      { encoding: 'utf8' },
    );
    assert.is(
      out,
      '\\connect postgres\nselect 1; -- $x "q"\n\\connect -reuse-previous=on "dbname=\'a b\'"\nselect 1; -- $x "q"\n',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the Job's and the rehearsal's scripts run the guarded update, never update_extensions.sql as it is", () => {
  for (const s of [UPDATE_EXTENSIONS_SCRIPT, POST_UPGRADE_LOCAL_SCRIPT]) {
    assert.match(s, 'guarded_updates "$');
    assert.not.match(s, /psql[^\n|]*-f "\$\d\/update_extensions\.sql"/);
  }
});

test.run();
