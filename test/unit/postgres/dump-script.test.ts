import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withHeartbeat } from '../../../src/postgres/heartbeat.ts';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../../../src/postgres/lock-wait.ts';
import {
  DUMP_GLOBALS_SCRIPT,
  DUMP_RESTORE_SCRIPT,
  RESTRICT_SH,
  TARGET_CONTENT_SQL,
  dumpRestoreArgs,
  dumpRestoreStdin,
  loadProgress,
} from '../../../src/postgres/dump-script.ts';

const test = suite(
  "the dump method's scripts: values as arguments, secrets on stdin, the source read-only by construction",
);

test("the arguments, in the script's order; no kept directory is an empty argument (streamed); the lock wait last", () => {
  const a = {
    source: { host: 'postgresql.db.svc', port: 5432, user: 'postgres' },
    target: { host: 'postgresql-v17.db.svc', port: 5433, user: 'pg-14-admin' },
    jobs: 2,
  };
  assert.equal(dumpRestoreArgs(a), [
    'postgresql.db.svc',
    '5432',
    'postgres',
    'postgresql-v17.db.svc',
    '5433',
    'pg-14-admin',
    '2',
    '',
    String(DEFAULT_LOCK_TIMEOUT_MS),
  ]);
  assert.is(dumpRestoreArgs({ ...a, keepDir: '/dump' })[7], '/dump');
  assert.is(dumpRestoreArgs({ ...a, lockWaitMs: 1500 })[8], '1500');
});

test('every pg_dump of the source bounds its lock waits; the restore into the new instance (nobody else there) does not', () => {
  const dumps = DUMP_RESTORE_SCRIPT.split('\n').filter((l) => /\bsrc pg_dump /.test(l));
  assert.is(dumps.length, 3);
  for (const l of dumps) assert.match(l, /pg_dump -w --lock-wait-timeout="\$LW" /);
  assert.match(DUMP_RESTORE_SCRIPT, /LW=\$\{9:-30000\}/);
  assert.not.match(DUMP_RESTORE_SCRIPT, /lock_timeout/);
});

test('stdin: both passwords, the globals and each database as one base64 line, then an empty line; nothing in clear', () => {
  const stdin = dumpRestoreStdin('s3cret src', "tgt'pw", 'CREATE ROLE a;\nALTER ROLE a WITH LOGIN;', [
    'app',
    'we\nird',
  ]);
  const lines = stdin.split('\n');
  assert.equal(lines.slice(-2), ['', '']);
  assert.equal(
    lines.slice(0, -2).map((l) => Buffer.from(l, 'base64').toString('utf8')),
    ['s3cret src', "tgt'pw", 'CREATE ROLE a;\nALTER ROLE a WITH LOGIN;', 'app', 'we\nird'],
  );
  assert.not.match(stdin, 's3cret');
});

test('every session on the source is read-only, and every dump tool runs through it', () => {
  assert.match(
    DUMP_GLOBALS_SCRIPT,
    "PGOPTIONS='-c search_path=pg_catalog -c role=none -c default_transaction_read_only=on'",
  );
  assert.match(
    DUMP_RESTORE_SCRIPT,
    'src() { PGPASSWORD=$SPW PGHOST=$SH PGPORT=$SP PGUSER=$SU PGOPTIONS=\'-c search_path=pg_catalog -c role=none -c default_transaction_read_only=on\' "$@"; }',
  );
  const dumps = DUMP_RESTORE_SCRIPT.split('\n').filter((l) => /\bpg_dump\b -[^-]/.test(l));
  assert.is(dumps.length, 3, "the database's own entries (schema only), streamed, and kept");
  for (const line of dumps) assert.match(line, /\bsrc pg_dump\b/, line);
  assert.not.match(DUMP_RESTORE_SCRIPT, /\bsrc pg_restore\b/, 'nothing but reads goes to the source');
  // psql on the source only counts its tables, for the progress lines (a read, in its read-only session).
  const reads = DUMP_RESTORE_SCRIPT.split('\n').filter((l) => /\bsrc psql\b/.test(l));
  assert.equal(
    reads.map((l) => l.trim()),
    ['NT=$(src psql -X -w -A -t -c "$QT" 2>/dev/null) || NT=\'?\''],
    'nothing but reads goes to the source',
  );
  assert.match(DUMP_RESTORE_SCRIPT, 'QT="select pg_catalog.count(*) from pg_catalog.pg_class');
  assert.not.match(DUMP_RESTORE_SCRIPT, /\bdst pg_dump\b/);
});

test('the target is checked before anything is written to it: one server, the tools, empty; globals first', () => {
  const at = (s: string) => DUMP_RESTORE_SCRIPT.indexOf(s);
  assert.ok(at('exit 33') < at('exit 30') && at('exit 30') < at('exit 42') && at('exit 42') < at('pg_restore'));
  assert.ok(at('exit 34') < at('exit 42'), "client tools at least the source's major");
  assert.match(DUMP_RESTORE_SCRIPT, TARGET_CONTENT_SQL);
  assert.match(TARGET_CONTENT_SQL, 'oid <> 10 and rolname <> current_user');
  assert.not.match(TARGET_CONTENT_SQL, '"', 'the SQL sits in double quotes in the script');
  assert.not.match(TARGET_CONTENT_SQL, '$');
});

test('streamed, each database loads in one transaction (no WAL under wal_level=minimal); the database itself is made before it, by name', () => {
  const lines = DUMP_RESTORE_SCRIPT.split('\n');
  const stream = lines.find((l) => l.includes('| { dst pg_restore')) ?? '';
  assert.match(stream, 'src pg_dump -w --lock-wait-timeout="$LW" -Fc -Z 0;');
  assert.match(
    stream,
    "--single-transaction -d ''",
    'the name from PGDATABASE: one that reads as a connection string stays a name',
  );
  assert.not.match(stream, ' -C ', 'CREATE DATABASE cannot run inside a transaction block');
  const create = lines.findIndex((l) => l.includes('-C -L "$W/db.list" -d postgres'));
  assert.ok(create > 0 && create < lines.indexOf(stream), 'the database first');
  assert.match(
    DUMP_RESTORE_SCRIPT,
    'pg_restore -l -C "$W/schema" | grep -E \'^[0-9]+; [0-9]+ [0-9]+ (DATABASE|DATABASE PROPERTIES) - ',
  );
});

/** What RESTRICT_SH's function prints under sh where `psql --version` says `version`. */
function restrictLine(version: string): string {
  const r = spawnSync('sh', ['-c', `${RESTRICT_SH}\npsql() { echo "$V"; }\nrestrict`], {
    env: { ...process.env, V: version },
    encoding: 'utf8',
  });
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

test('the globals go to a psql restricted by a random key where it has \\restrict (17.6, 16.10, 15.14, 14.19, 13.22 on)', () => {
  for (const v of [
    '17.6',
    '16.10 (Debian 16.10-1.pgdg120+1)',
    '15.14',
    '14.19',
    '13.22',
    '18.1',
    '18beta3',
    '19devel',
  ]) {
    assert.match(restrictLine(`psql (PostgreSQL) ${v}`), /^\\restrict [0-9a-f]{32}\n$/, v);
  }
  assert.is.not(restrictLine('psql (PostgreSQL) 17.6'), restrictLine('psql (PostgreSQL) 17.6'), 'a new key each time');
  for (const v of ['17.5', '16.9', '15.13', '14.18', '13.21', '12.22', ''])
    assert.is(restrictLine(`psql (PostgreSQL) ${v}`), '', v);
  const lines = DUMP_RESTORE_SCRIPT.split('\n');
  const feed = lines.findIndex((l) => l.includes('| dst psql'));
  assert.is(lines[feed - 1], 'R=$(restrict) || exit 42');
  assert.match(
    lines[feed] ?? '',
    `printf '%s\\nSET client_min_messages = warning;\\n%s\\n' "$R" "$G" | dst psql`,
    "the key's line first, then the globals",
  );
});

test("the scripts are POSIX sh (the images' /bin/sh is dash), not bash", () => {
  for (const script of [DUMP_GLOBALS_SCRIPT, DUMP_RESTORE_SCRIPT]) {
    const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
  }
});

test("the load's progress: which database it loads and how long one took, named from the list (the script prints only its place)", () => {
  const dbs = ['app1', 'postgres', 'we ird'];
  assert.is(loadProgress('pgupgrade: loading database 3', dbs), 'loading database we ird (3 of 3)');
  assert.is(
    loadProgress('pgupgrade: loading database 3 (120 tables)', dbs),
    'loading database we ird (3 of 3), 120 tables',
  );
  assert.is(loadProgress('pgupgrade: loading database 3 (? tables)', dbs), 'loading database we ird (3 of 3)');
  assert.is(
    loadProgress('pgupgrade: database 3: table 50 of about 120', dbs),
    'loading database we ird (3 of 3): table 50 of about 120',
  );
  assert.is(loadProgress('pgupgrade: database 1 restored in 12 s\n', dbs), 'database app1 (1 of 3) restored in 12 s');
  assert.is(loadProgress('pgupgrade: source 160004 (read-only session), target empty; globals first', dbs), undefined);
  assert.is(loadProgress('pgupgrade: still working', dbs), undefined);
  assert.match(DUMP_RESTORE_SCRIPT, 'say "loading database $i ($NT tables)"');
});

/**
 * The client tools as shell functions, for the script's own logic under sh: the source and the target answer as
 * two servers, the target is empty, the schema dump is a file; pg_restore of the data (-v) names four tables as
 * pg_restore -v does, and exits with $RESTORE_RC (1: the restore fails, as a target that runs out of space does).
 */
const TOOLS = `psql() { case "$1" in --version) echo 'psql (PostgreSQL) 17.6'; return;; esac
  case "$*" in *"relkind = 'r'"*) echo 3; return;; esac
  case "$Q" in *system_identifier*) if [ "$PGHOST" = src ]; then echo 'on 150004 1'; else echo 'off 170000 2'; fi;; esac; }
pg_dump() { case "$1" in --version) echo 'pg_dump (PostgreSQL) 17.6'; return;; esac
  stub_o=; for a; do [ "$stub_o" = -f ] && { echo schema > "$a"; return; }; stub_o=$a; done; }
pg_restore() { case "$1" in -l) return;; esac; case " $* " in *' -v '*) ;; *) return 0;; esac; cat >/dev/null
  printf '%s\\n' 'pg_restore: connecting to database for restore' 'pg_restore: creating TABLE "public.a"' >&2
  for t in a b c d; do echo "pg_restore: processing data for table \\"public.$t\\"" >&2; done
  [ "$RESTORE_RC" = 0 ] || printf '%s\\n' 'pg_restore: error: could not execute query: ERROR:  no space left' 'Command was: COPY public.d FROM stdin;' >&2
  echo 'pg_restore: creating INDEX "public.a_pkey"' >&2
  return "$RESTORE_RC"; }
`;

/** DUMP_RESTORE_SCRIPT (with its heartbeat) run by sh on database `app`, its TMPDIR a fresh directory. */
function loadIn(tmp: string, restoreRc: number) {
  const args = dumpRestoreArgs({
    source: { host: 'src', port: 5432, user: 'postgres' },
    target: { host: 'dst', port: 5432, user: 'postgres' },
    jobs: 1,
  });
  return spawnSync('sh', ['-c', `${TOOLS}${withHeartbeat(DUMP_RESTORE_SCRIPT, 4_000)}`, 'dump-restore', ...args], {
    input: dumpRestoreStdin('pw', 'pw', 'CREATE ROLE a;', ['app']),
    encoding: 'utf8',
    timeout: 30_000,
    cwd: tmp,
    env: { ...process.env, TMPDIR: tmp, RESTORE_RC: String(restoreRc) },
  });
}

test("the schema dump in the target pod's /tmp is removed whatever ends the load: a failed restore (exit 41) as much as the last database", () => {
  for (const [rc, status] of [
    [1, 41],
    [0, 0],
  ] as const) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-dump-'));
    try {
      const r = loadIn(tmp, rc);
      assert.is(r.signal, null, 'the heartbeat stops with the script');
      assert.is(r.status, status, r.stderr + r.stdout);
      assert.match(r.stdout, 'loading database 1 (3 tables)');
      // pg_restore -v: each table counted (the first three, then every 50th), its other verbose lines dropped, its errors kept.
      assert.match(r.stdout, 'database 1: table 3 of about 3');
      assert.not.match(r.stdout, 'table 4 of');
      assert.not.match(r.stderr, /creating (TABLE|INDEX)|connecting to database|processing data/);
      if (rc)
        assert.match(
          r.stderr,
          'pg_restore: error: could not execute query: ERROR:  no space left\nCommand was: COPY public.d FROM stdin;',
        );
      assert.equal(fs.readdirSync(tmp), [], `restore exit ${rc}: nothing left in TMPDIR`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
});

test.run();
