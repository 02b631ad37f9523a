// The shared lock table and what an upgrade's schema dump and restore take of it. pg_dump locks every table it
// dumps, in one transaction (ACCESS SHARE); the restore of a target of 16 and older can hold a lock on each large
// object at once (17's pg_upgrade restores in batches), so those are counted for it. The lock table holds
// max_locks_per_transaction × (MaxBackends + max_prepared_transactions) locks in all, shared by every session
// (MaxBackends: max_connections, autovacuum_max_workers + 1, max_worker_processes, max_wal_senders): a database of
// more tables fails with "out of shared memory" (HINT: increase max_locks_per_transaction), inside the downtime.
// pg_upgrade starts both servers itself, the new one on initdb's configuration (the cluster's own is carried over
// after it), so its -o and -O options give both the same larger table for the upgrade alone.
import type { Finding } from './rules.ts';

/** The settings that size the lock table, as the server reports them (the background ones absent in older facts). */
export interface LockTable {
  max_locks: number;
  connections: number;
  prepared: number;
  autovacuum?: number;
  workers?: number;
  senders?: number;
}

/** A database's objects that take a lock in one transaction of the upgrade. */
export interface LockingObjects {
  relations: number;
  largeObjects?: number;
  /** What pg_dump locks: the user tables (relations counts their indexes, TOAST and the catalogs too). */
  tables?: number;
}

/** Locks besides the upgrade's own relations: pg_upgrade's and the catalogs'. */
const HEADROOM = 1_000;
/** pg_dump's own besides the tables it locks. */
const DUMP_HEADROOM = 200;
/** The sessions that pg_upgrade's servers are given with a raised lock table (they serve pg_upgrade alone). */
export const UPGRADE_SESSIONS = 100;
/** initdb's lock table, on which pg_upgrade starts the new cluster: 64 × about 100 sessions. */
const INITDB_CAPACITY = 64 * UPGRADE_SESSIONS;
/** Bytes of shared memory a lock slot takes, roughly (the lock, its proclock and hash entries). */
const BYTES_A_LOCK = 270;

/** A max_locks_per_transaction for `locks` over `sessions`: a quarter more, rounded up to 64, `atLeast` at least. */
const settingOver = (locks: number, sessions: number, atLeast: number): number =>
  Math.max(atLeast, Math.ceil((locks * 1.25) / sessions / 64) * 64);

/** The sessions a lock table is sized by. */
export const lockSessions = (t: LockTable): number =>
  t.connections + (t.autovacuum ?? 0) + 1 + (t.workers ?? 0) + (t.senders ?? 0) + t.prepared;

/** The lock table's size: how many locks all sessions together may hold. */
export const lockCapacity = (t: LockTable): number => t.max_locks * lockSessions(t);

/**
 * The most locks the upgrade's dump and restore hold at once: every database's relations (pg_upgrade dumps and
 * restores databases side by side, --jobs), and into 16 and older, their large objects too; with the headroom.
 */
export function locksNeeded(dbs: LockingObjects[], to: number): number {
  return dbs.reduce((n, d) => n + d.relations + (to < 17 ? (d.largeObjects ?? 0) : 0), HEADROOM);
}

/**
 * The max_locks_per_transaction that pg_upgrade's servers are started with (over UPGRADE_SESSIONS connections),
 * when the old server's table or initdb's is too small (undefined: both fit): a quarter more than the need,
 * rounded up to a multiple of 64, and never below the cluster's own.
 */
export function maxLocksFor(t: LockTable, needed: number): number | undefined {
  if (needed <= Math.min(lockCapacity(t), INITDB_CAPACITY)) return undefined;
  return settingOver(needed, UPGRADE_SESSIONS, t.max_locks);
}

/** The shared memory that the raised table takes on each of pg_upgrade's servers, beyond the old server's own. */
export const lockTableBytes = (t: LockTable, maxLocks: number): number =>
  Math.max(0, maxLocks * UPGRADE_SESSIONS - lockCapacity(t)) * BYTES_A_LOCK;

/**
 * The load's max_locks_per_transaction on the new instance (dump method): 256, or for the biggest database's
 * relations and large objects (its one transaction locks them all) a quarter more over the instance's 100
 * connections, rounded up to a multiple of 64.
 */
export const loadMaxLocks = (locked: number): number => settingOver(locked + HEADROOM, UPGRADE_SESSIONS, 256);

/**
 * The plugin's own reads: the shape and the fingerprint read every relation of every database (the verification's
 * sessions side by side, each in one transaction), before the upgrade and after it on the new server, which runs
 * the same configuration. A lock table too small for them fails inside the downtime.
 */
export const readLocksNeeded = (dbs: LockingObjects[]): number => dbs.reduce((n, d) => n + d.relations, DUMP_HEADROOM);

/** The max_locks_per_transaction that holds `needed` locks over this server's sessions, rounded up to 64. */
const settingFor = (t: LockTable, needed: number): number => settingOver(needed, lockSessions(t), t.max_locks);

/** What the lock table means for the method, as check reports it (none: the server did not say). */
export function verifyLocks(
  t: LockTable | undefined,
  dbs: Map<string, LockingObjects>,
  to: number,
  method: string,
): Finding[] {
  if (!t) return [];
  const title = "The lock table holds the upgrade's locks";
  const reads = readLocksNeeded([...dbs.values()]);
  if (reads > lockCapacity(t))
    return [
      {
        id: 'locks',
        title,
        status: 'fail',
        found:
          `the upgrade's verification reads every relation of every database at once, about ${reads} locks, on this server and on the upgraded one ` +
          `(its configuration is carried over); the lock table holds ${lockCapacity(t)} (max_locks_per_transaction ${t.max_locks} × ${lockSessions(t)} sessions): ` +
          'it would fail with "out of shared memory" while the applications are down',
        fix: `raise it before the upgrade: ALTER SYSTEM SET max_locks_per_transaction = ${settingFor(t, reads)}; then restart the database's pod and run check again`,
      },
    ];
  return [method === 'dump' ? dumpLocks(t, dbs, title) : inPlaceLocks(t, dbs, to, title)];
}

/** In place: pg_upgrade's two servers, the new one on initdb's configuration, are given a larger table if need be. */
function inPlaceLocks(t: LockTable, dbs: Map<string, LockingObjects>, to: number, title: string): Finding {
  const capacity = lockCapacity(t);
  const needed = locksNeeded([...dbs.values()], to);
  const raised = maxLocksFor(t, needed);
  if (!raised)
    return { id: 'locks', title, status: 'pass', found: `about ${needed} locks needed; the table holds ${capacity}` };
  const mib = Math.ceil(lockTableBytes(t, raised) / 2 ** 20);
  return {
    id: 'locks',
    title,
    status: 'pass',
    found:
      `about ${needed} locks needed (the relations of every database${to < 17 ? ' and their large objects' : ''}); the table holds ${capacity} ` +
      `(max_locks_per_transaction ${t.max_locks} × ${lockSessions(t)} sessions), initdb's about ${INITDB_CAPACITY}: the upgrade Job starts ` +
      `pg_upgrade's servers with max_connections=${UPGRADE_SESSIONS} and max_locks_per_transaction=${raised}, about ${mib} MiB more shared memory each, for the upgrade only`,
  };
}

/** --method dump: pg_dump reads the running source; the plugin's reads (above) lock more, so they fit when those do. */
function dumpLocks(t: LockTable, dbs: Map<string, LockingObjects>, title: string): Finding {
  const locked = (d: LockingObjects) => d.tables ?? d.relations;
  const [name, most] = [...dbs.entries()].sort((a, b) => locked(b[1]) - locked(a[1]))[0] ?? ['', { relations: 0 }];
  return {
    id: 'locks',
    title,
    status: 'pass',
    found: `pg_dump of ${name} takes about ${locked(most) + DUMP_HEADROOM} locks, the verification's reads about ${readLocksNeeded([...dbs.values()])}; the table holds ${lockCapacity(t)}`,
  };
}
