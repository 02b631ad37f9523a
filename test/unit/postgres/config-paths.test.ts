import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CONFIG_PATHS_SQL, parseConfigPaths, verifyConfigPaths } from '../../../src/postgres/config-paths.ts';

const test = suite('in place refuses, before any downtime, configuration that names PGDATA by its absolute path');
const D = '/var/lib/postgresql/data';

test('the answer parses; no answer (an older server fact, or not asked) is no finding', () => {
  const lines = parseConfigPaths([{ file: `${D}/postgresql.conf`, line: 12, text: ` include_dir = '${D}/conf.d'  ` }]);
  assert.equal(lines, [{ file: `${D}/postgresql.conf`, line: 12, text: `include_dir = '${D}/conf.d'` }]);
  assert.is(parseConfigPaths(null), undefined);
  assert.equal(verifyConfigPaths(undefined, 'link', D), []);
});

test('none: a pass for in place; the dump never asks (it does not hold the directory)', () => {
  assert.is(verifyConfigPaths([], 'link', D)[0]?.status, 'pass');
  assert.equal(verifyConfigPaths([{ file: `${D}/postgresql.conf`, line: 1, text: 'x' }], 'dump', D), []);
});

test('found: a FAIL that names each file and line (20, then a count) and says how to write them', () => {
  const lines = Array.from({ length: 23 }, (_, i) => ({
    file: `${D}/postgresql.conf`,
    line: i + 1,
    text: `ssl_cert_file = '${D}/c${i}.crt'`,
  }));
  const [f] = verifyConfigPaths(lines, 'copy', D);
  assert.is(f?.id, 'config-paths');
  assert.is(f?.status, 'fail');
  assert.ok(f?.found.includes(`${D}/postgresql.conf:1: ssl_cert_file = '${D}/c0.crt'`));
  assert.ok(f?.found.includes(`${D}/postgresql.conf:20: `));
  assert.not.ok(f?.found.includes(`${D}/postgresql.conf:21: `));
  assert.ok(f?.found.includes('and 3 more'));
  assert.match(f?.fix ?? '', /relative/);
});

test('the SQL qualifies everything it calls (superuser session) and skips commented lines', () => {
  for (const fn of [
    'json_agg',
    'json_build_object',
    'strpos',
    'current_setting',
    'regexp_split_to_table',
    'pg_read_file',
    'pg_ls_dir',
    'pg_stat_file',
  ]) {
    assert.not.match(CONFIG_PATHS_SQL, new RegExp(`(^|[^.])\\b${fn}\\(`), fn);
  }
  assert.not.match(CONFIG_PATHS_SQL, /[^)] (\|\||~|!~|<|>|=) /, "every operator is pg_catalog's");
  assert.match(CONFIG_PATHS_SQL, /'\^\\s\*#'/);
  assert.match(
    CONFIG_PATHS_SQL,
    /pg_\(hba\|ident\)/,
    'pg_hba.conf and pg_ident.conf are left out, as the Job leaves them out',
  );
});

test.run();
