import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TARGET_SQL_SCRIPT } from '../../../src/commands/upgrade/dump/instance.ts';
import { DUMP_GLOBALS_SCRIPT, DUMP_RESTORE_SCRIPT } from '../../../src/postgres/dump-script.ts';
import { POST_UPGRADE_LOCAL_SCRIPT } from '../../../src/postgres/probe-scripts.ts';
import { HELD_PSQL_SCRIPT, heldPsqlScript, PSQL_SCRIPT, psqlScript } from '../../../src/postgres/psql-scripts.ts';
import { NO_ROLE, SAFE_SEARCH_PATH, sessionOptions } from '../../../src/postgres/session.ts';
import { ANALYZE_SCRIPT, UPDATE_EXTENSIONS_SCRIPT } from '../../../src/postgres/upgrade-script.ts';
import { repoRoot } from '../../support/paths.ts';

const SCRIPTS = {
  PSQL_SCRIPT,
  HELD_PSQL_SCRIPT,
  DUMP_GLOBALS_SCRIPT,
  DUMP_RESTORE_SCRIPT,
  POST_UPGRADE_LOCAL_SCRIPT,
  ANALYZE_SCRIPT,
  UPDATE_EXTENSIONS_SCRIPT,
  TARGET_SQL_SCRIPT,
};

test('sessionOptions puts the safe search_path and role=none first, before the other options', () => {
  assert.is(sessionOptions('-c jit=off'), '-c search_path=pg_catalog -c role=none -c jit=off');
  assert.is(sessionOptions(), `${SAFE_SEARCH_PATH} ${NO_ROLE}`);
});

test('every script that opens a superuser session sets PGOPTIONS with the safe search_path', () => {
  for (const [name, s] of Object.entries(SCRIPTS)) {
    assert.match(s, new RegExp(`PGOPTIONS='${SAFE_SEARCH_PATH}`), name);
  }
});

test('the load sets it for both sides: the source session (read-only too) and the target session', () => {
  assert.match(
    DUMP_RESTORE_SCRIPT,
    /src\(\) \{[^}]*PGOPTIONS='-c search_path=pg_catalog -c role=none -c default_transaction_read_only=on'/,
  );
  assert.match(DUMP_RESTORE_SCRIPT, /dst\(\) \{[^}]*PGOPTIONS='-c search_path=pg_catalog -c role=none'/);
});

test('the read-only psql sessions bound their lock waits; the limit is a whole number of milliseconds', () => {
  assert.match(psqlScript(2500), /PGOPTIONS='-c search_path=pg_catalog -c role=none -c lock_timeout=2500'/);
  assert.match(heldPsqlScript(2500), /PGOPTIONS='-c search_path=pg_catalog -c role=none -c lock_timeout=2500'/);
  assert.match(PSQL_SCRIPT, /-c lock_timeout=30000'/);
  assert.match(HELD_PSQL_SCRIPT, /-c lock_timeout=30000'/);
});

// pg_upgrade's servers, the probe pod's and the new instance's have no other session; ALTER EXTENSION … UPDATE
// and ALTER SYSTEM must not stop half-way for a lock: none of these gets a lock_timeout.
test('the scripts of sessions alone on their server, or that write, get no lock_timeout', () => {
  for (const [name, s] of Object.entries({
    DUMP_GLOBALS_SCRIPT,
    POST_UPGRADE_LOCAL_SCRIPT,
    ANALYZE_SCRIPT,
    UPDATE_EXTENSIONS_SCRIPT,
    TARGET_SQL_SCRIPT,
  })) {
    assert.not.match(s, /lock_timeout/, name);
  }
});

// A new script that runs a client tool without the safe options would slip past the list above: any source file
// whose text starts psql, vacuumdb, pg_dump, pg_dumpall or pg_restore must take its options from session.ts.
test('no source file runs a PostgreSQL client without session.ts', () => {
  const start = String.raw`(?:^\s*|[|;&]\s*|\$\(|"\$@"\s+|\b(?:src|dst)\s+|PGDATABASE=\$v\s+)`;
  const tool = new RegExp(`${start}(?:"\\$B/)?(?:psql|vacuumdb|reindexdb|pg_dump|pg_dumpall|pg_restore)"? -`, 'm');
  const dir = path.join(repoRoot, 'src');
  const offenders = fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && f !== path.join('postgres', 'session.ts'))
    .filter((f) => tool.test(fs.readFileSync(path.join(dir, f), 'utf8').replace(/^\s*(\*|\/\/).*$/gm, '')))
    .filter((f) => !/SAFE_SESSION_SH|sessionOptions\(/.test(fs.readFileSync(path.join(dir, f), 'utf8')));
  assert.equal(offenders, []);
});

test.run();
