import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  autoConfSql,
  isPriorSettings,
  parsePriorSettings,
  restoreStatements,
  settingLiteral,
} from '../../../src/postgres/alter-system.ts';

const test = suite("a server's own ALTER SYSTEM settings: read before a change, put back exactly");

test("the auto.conf of the data directory is read, by pg_catalog's functions, for the named settings only", () => {
  const sql = autoConfSql(['fsync', 'archive_mode']);
  assert.match(sql, 'from pg_catalog.pg_file_settings f');
  assert.match(
    sql,
    "f.sourcefile = pg_catalog.current_setting('data_directory') operator(pg_catalog.||) '/postgresql.auto.conf'",
  );
  assert.match(sql, "pg_catalog.lower(f.name) in ('fsync', 'archive_mode')");
  assert.not.match(
    sql.replace(/pg_catalog\.\w+\(/g, ''),
    /\b(json_agg|json_build_object|lower|current_setting|coalesce_x)\(/,
    'every function qualified',
  );
  assert.throws(() => autoConfSql(["fsync') or true --"]), /not a setting name/);
  // archive_mode set since the last restart reads "setting could not be applied" in pg_file_settings.error: the owner's all the same.
  assert.not.match(sql, 'error', 'a line is taken whatever its error');
});

test('the answer: a later line for a name wins; anything else is refused', () => {
  assert.equal(
    parsePriorSettings(
      '[{"name":"archive_mode","value":"on"},{"name":"work_mem","value":"4MB"},{"name":"archive_mode","value":"always"}]',
    ),
    [
      { name: 'archive_mode', value: 'always' },
      { name: 'work_mem', value: '4MB' },
    ],
  );
  assert.equal(parsePriorSettings(' []\n'), []);
  assert.throws(() => parsePriorSettings('{"name":"x"}'), /not a list of settings/);
  assert.ok(isPriorSettings([{ name: 'a', value: 'b' }]));
  assert.not.ok(isPriorSettings([{ name: 'a', value: 1 }]));
  assert.not.ok(isPriorSettings({ name: 'a', value: 'b' }));
});

test('put back: each setting the server had set again to its value, only the others RESET', () => {
  const prior = [
    { name: 'archive_mode', value: 'on' },
    { name: 'max_wal_size', value: '3GB' },
    { name: 'work_mem', value: '7MB' },
  ];
  assert.equal(restoreStatements(['fsync', 'archive_mode', 'max_wal_size'], prior), [
    'ALTER SYSTEM RESET fsync;',
    "ALTER SYSTEM SET archive_mode = E'on';",
    "ALTER SYSTEM SET max_wal_size = E'3GB';",
  ]);
  assert.equal(restoreStatements(['fsync'], []), ['ALTER SYSTEM RESET fsync;']);
  assert.throws(() => restoreStatements(['fsync; DROP TABLE x'], []), /not a setting name/);
});

test('a value ends its literal nowhere, whatever standard_conforming_strings is', () => {
  assert.is(settingLiteral("it's"), "E'it''s'");
  assert.is(settingLiteral("a\\'; DROP TABLE t; --"), "E'a\\\\''; DROP TABLE t; --'");
  assert.is(settingLiteral('cp %p /archive/%f'), "E'cp %p /archive/%f'");
});

test.run();
