import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BLOCKERS_SQL,
  DEFAULT_LOCK_TIMEOUT_MS,
  isDumpLockTimeout,
  isLockTimeout,
  lockTimeoutMs,
  lockTimeoutOption,
  parseBlockers,
  type Blocker,
} from '../../../src/postgres/lock-wait.ts';
import {
  describeBlocker,
  formatMs,
  lockTimeoutMessage,
  queryExcerpt,
} from '../../../src/postgres/lock-wait-message.ts';

const held: Blocker = {
  relation: 'public.orders',
  granted: true,
  pid: 4242,
  gid: null,
  usename: 'app',
  application_name: 'billing',
  client_addr: '10.1.2.3',
  state: 'idle in transaction',
  xact_start: '2025-01-02T03:04:05+00:00',
  query: 'LOCK TABLE orders IN ACCESS EXCLUSIVE MODE',
  waiting_for: [],
};

test('the limit: PGUPGRADE_LOCK_TIMEOUT_MS when a positive whole number, else 30 s', () => {
  assert.is(DEFAULT_LOCK_TIMEOUT_MS, 30_000);
  assert.is(lockTimeoutMs({}), 30_000);
  assert.is(lockTimeoutMs({ PGUPGRADE_LOCK_TIMEOUT_MS: '2000' }), 2000);
  for (const bad of ['', '0', '-5', '1.5', 'soon'])
    assert.is(lockTimeoutMs({ PGUPGRADE_LOCK_TIMEOUT_MS: bad }), 30_000, bad);
  assert.is(lockTimeoutOption(2000), '-c lock_timeout=2000');
});

test("the lock timeout is recognized in psql's text, terse or verbose; other errors are not", () => {
  assert.ok(isLockTimeout('psql:<stdin>:3: ERROR:  canceling statement due to lock timeout\nCONTEXT: …'));
  assert.ok(isLockTimeout('ERROR:  55P03: canceling statement due to lock timeout'));
  assert.not.ok(isLockTimeout('ERROR:  canceling statement due to statement timeout'));
  assert.not.ok(isLockTimeout('ERROR:  relation "t" does not exist'));
});

test("pg_dump's --lock-wait-timeout shows as a statement timeout on its LOCK TABLE; a statement timeout elsewhere is not one", () => {
  assert.ok(
    isDumpLockTimeout(
      'pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout\npg_dump: detail: Query was: LOCK TABLE public.t IN ACCESS SHARE MODE',
    ),
  );
  assert.not.ok(
    isDumpLockTimeout(
      'pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout\npg_dump: detail: Query was: SELECT 1',
    ),
  );
});

test('the blockers SQL: ACCESS EXCLUSIVE holders and waiters of this database and the shared catalogs, not its own session; all pg_catalog', () => {
  assert.match(BLOCKERS_SQL, /l\.mode = 'AccessExclusiveLock'/);
  assert.match(BLOCKERS_SQL, /pg_catalog\.pg_blocking_pids\(l\.pid\)/);
  assert.match(BLOCKERS_SQL, /l\.pid is distinct from pg_catalog\.pg_backend_pid\(\)/);
  assert.match(BLOCKERS_SQL, /l\.database in \(0, /);
  assert.match(BLOCKERS_SQL, /pg_catalog\.pg_prepared_xacts/);
  assert.not.match(BLOCKERS_SQL.replace(/pg_catalog\.\w+/g, ''), /\bpg_(locks|class|stat_activity|namespace)\b/);
});

test("parseBlockers keeps the database and names a shared catalog's blocker once", () => {
  const shared = { ...held, relation: 'pg_catalog.pg_authid', pid: 7 };
  const got = parseBlockers(
    new Map([
      ['app', JSON.stringify([held, shared])],
      ['other', JSON.stringify([shared])],
      ['empty', '[]'],
    ]),
  );
  assert.equal(
    got.map((b) => `${b.database} ${b.relation} ${b.pid}`),
    ['app public.orders 4242', 'app pg_catalog.pg_authid 7'],
  );
});

test('a blocker is named by pid, user, application, address, state, transaction start and its query', () => {
  assert.is(
    describeBlocker({ ...held, database: 'shop' }),
    'pid 4242 (user app, application "billing", from 10.1.2.3, idle in transaction, ' +
      'transaction since 2025-01-02T03:04:05+00:00, query "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE") holds ACCESS EXCLUSIVE on public.orders in database shop',
  );
  const queued = describeBlocker({ ...held, granted: false, pid: 5, waiting_for: [4242, 0], database: 'shop' });
  assert.match(
    queued,
    /is queued for ACCESS EXCLUSIVE on public\.orders in database shop \(reads queue behind it; it waits for pid 4242, a prepared transaction\)$/,
  );
  assert.match(
    describeBlocker({ ...held, pid: null, gid: "it's", database: 'shop' }),
    /^prepared transaction "it's" \(owner app, prepared 2025/,
  );
});

test('the query: one line, at most 80 characters, passwords hidden', () => {
  assert.is(queryExcerpt("ALTER ROLE bob\n  PASSWORD 'hunter2'"), "ALTER ROLE bob PASSWORD '<redacted>'");
  assert.is(queryExcerpt(`select ${'x'.repeat(200)}`).length, 80);
  assert.is(queryExcerpt(null), '');
});

test("the message: what waited how long, which relation, who, and how to end it; the limit's variable", () => {
  const m = lockTimeoutMessage('db/postgresql-0', 2000, [
    { ...held, database: 'shop' },
    { ...held, pid: null, gid: "x'y", database: 'shop' },
  ]);
  assert.match(
    m,
    /^a read-only session of the plugin in db\/postgresql-0 waited 2 s for a lock and gave up \(lock_timeout; PGUPGRADE_LOCK_TIMEOUT_MS sets the limit\); it changed nothing\./,
  );
  assert.match(m, /public\.orders/);
  assert.match(m, /pid 4242/);
  assert.match(m, /SELECT pg_terminate_backend\(4242\)/);
  assert.match(m, /COMMIT PREPARED or ROLLBACK PREPARED 'x''y'/);
  assert.match(m, /run the command again \(an upgrade resumes where it stopped\)\.$/);
});

test('the message when the blockers are gone, or could not be read', () => {
  assert.match(lockTimeoutMessage('db/p', 30_000, []), /waited 30 s .* the blocker has ended; run the command again/);
  assert.match(
    lockTimeoutMessage('db/p', 30_000, { error: 'psql exited 1: timeout' }),
    /could not be read \(psql exited 1: timeout\): look for them in pg_locks/,
  );
  assert.is(formatMs(1500), '1.5 s');
});

test.run();
