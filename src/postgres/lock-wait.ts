/**
 * A bound on lock waits in the plugin's read-only superuser sessions. Their reads take ACCESS SHARE locks (a
 * fingerprint's scans, the shape's pg_relation_size, pg_dump's LOCK TABLE), which wait behind any ACCESS
 * EXCLUSIVE lock: an application's `LOCK TABLE` in an open transaction, an ALTER TABLE or a VACUUM FULL, or one
 * only queued behind another reader. The heartbeat keeps such an exec alive (src/postgres/heartbeat.ts), so
 * without a bound the step would wait for ever, during an upgrade with the applications down. A timed-out
 * statement changes nothing: it fails whole, and the step fails as any other does.
 */
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

/** The session that names the blockers waits this long at most, on a catalog lock of its own. */
export const BLOCKERS_LOCK_TIMEOUT_MS = 5_000;

/** PGUPGRADE_LOCK_TIMEOUT_MS (a whole number of milliseconds), else DEFAULT_LOCK_TIMEOUT_MS. */
export function lockTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.PGUPGRADE_LOCK_TIMEOUT_MS);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_LOCK_TIMEOUT_MS;
}

/** The session option: lock_timeout exists on every supported major (9.3 on) and needs no privilege. */
export function lockTimeoutOption(ms: number): string {
  return `-c lock_timeout=${Math.max(1, Math.round(ms))}`;
}

/** psql's text for a statement canceled by lock_timeout (SQLSTATE 55P03, shown with VERBOSITY verbose). */
export function isLockTimeout(text: string): boolean {
  return /canceling statement due to lock timeout|\b55P03\b/.test(text);
}

/**
 * pg_dump's for its --lock-wait-timeout, which it sets as a statement_timeout around each `LOCK TABLE … IN ACCESS
 * SHARE MODE` (so the server says "statement timeout"), or a lock timeout of the session's own.
 */
export function isDumpLockTimeout(text: string): boolean {
  return isLockTimeout(text) || /canceling statement due to statement timeout[\s\S]*Query was: LOCK TABLE /.test(text);
}

// A reader's ACCESS SHARE conflicts with ACCESS EXCLUSIVE only: the holders of one, and the sessions queued for
// one (a reader queues behind them too), on the relations of this database and the shared catalogs. A prepared
// transaction has no backend: its gid comes through its transactionid lock, which shares its virtualtransaction.
const BLOCKER_ROWS = `select pg_catalog.format('%I.%I', n.nspname, c.relname) as relation, l.granted, l.pid, p.gid,
    coalesce(a.usename, p.owner) as usename, a.application_name, pg_catalog.host(a.client_addr) as client_addr, a.state,
    coalesce(a.xact_start, p.prepared) as xact_start, pg_catalog.left(a.query, 200) as query,
    case when l.pid is not null then pg_catalog.pg_blocking_pids(l.pid) end as waiting_for
  from pg_catalog.pg_locks l join pg_catalog.pg_class c on c.oid = l.relation join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    left join pg_catalog.pg_stat_activity a on a.pid = l.pid
    left join pg_catalog.pg_locks x on l.pid is null and x.locktype = 'transactionid' and x.pid is null and x.virtualtransaction = l.virtualtransaction
    left join pg_catalog.pg_prepared_xacts p on p.transaction = x.transactionid
  where l.locktype = 'relation' and l.mode = 'AccessExclusiveLock' and l.pid is distinct from pg_catalog.pg_backend_pid()
    and l.database in (0, (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database()))`;

/** The blockers in the database it runs in, as one JSON array. Constant text: nothing is interpolated. */
export const BLOCKERS_SQL = `select coalesce(pg_catalog.json_agg(pg_catalog.row_to_json(b) order by b.relation, b.granted desc, b.pid), '[]') from (${BLOCKER_ROWS}) b`;

/** One session (or prepared transaction) that holds or awaits an ACCESS EXCLUSIVE lock. */
export interface Blocker {
  relation: string;
  granted: boolean;
  pid: number | null;
  gid: string | null;
  usename: string | null;
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  xact_start: string | null;
  query: string | null;
  waiting_for: number[] | null;
}

/** BLOCKERS_SQL's answer per database → the blockers, each named once (shared catalogs show in every database). */
export function parseBlockers(perDb: Map<string, string>): Array<Blocker & { database: string }> {
  const seen = new Set<string>();
  const out: Array<Blocker & { database: string }> = [];
  for (const [database, json] of perDb) {
    for (const b of JSON.parse(json || '[]') as Blocker[]) {
      const key = `${b.relation}|${b.pid ?? b.gid}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ ...b, database });
    }
  }
  return out;
}
