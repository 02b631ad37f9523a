// The shared lock table and what an upgrade's schema dump and restore take of it. pg_dump locks every table it
// dumps, in one transaction (ACCESS SHARE); the restore of a target of 16 and older can hold a lock on each large
// object at once (17's pg_upgrade restores in batches), so those are counted for it. The lock
// table holds max_locks_per_transaction × (max_connections + max_prepared_transactions) locks in all, shared by every
// session: a database with more relations fails with "out of shared memory" (HINT: increase
// max_locks_per_transaction), inside the downtime. pg_upgrade starts both servers itself, so its -o and -O options
// can give them a larger table for the upgrade alone.
import type { Finding } from './rules.ts';

/** The settings that size the lock table, as the server reports them. */
export interface LockTable {
  max_locks: number;
  connections: number;
  prepared: number;
}

/** A database's objects that take a lock in one transaction of the upgrade. */
export interface LockingObjects {
  relations: number;
  largeObjects?: number;
  /** What pg_dump locks: the tables (relations counts their indexes and TOAST too). */
  tables?: number;
}

/** Locks besides the database's own objects: the catalogs' and other sessions'. */
const HEADROOM = 1_000;

/** The lock table's size: how many locks all sessions together may hold. */
export const lockCapacity = (t: LockTable): number => t.max_locks * (t.connections + t.prepared);

/**
 * The most locks the upgrade's dump and restore hold at once: every database's relations (pg_upgrade dumps and
 * restores databases side by side, --jobs), and into 16 and older, their large objects too; with the headroom.
 */
export function locksNeeded(dbs: LockingObjects[], to: number): number {
  return dbs.reduce((n, d) => n + d.relations + (to < 17 ? (d.largeObjects ?? 0) : 0), HEADROOM);
}

/**
 * The max_locks_per_transaction that pg_upgrade's servers need, when the server's own is too small (undefined: it
 * fits): a quarter more than the need, over the sessions, rounded up to a multiple of 64.
 */
export function maxLocksFor(t: LockTable, needed: number): number | undefined {
  if (lockCapacity(t) >= needed) return undefined;
  const sessions = Math.max(1, t.connections + t.prepared);
  return Math.ceil((needed * 1.25) / sessions / 64) * 64;
}

/** The bytes of shared memory that a lock table of `max_locks` takes beyond the default's (about 270 bytes a lock). */
export const lockTableBytes = (t: LockTable, maxLocks: number): number =>
  Math.max(0, (maxLocks - t.max_locks) * (t.connections + t.prepared) * 270);

/** What the lock table means for the method, as check reports it (undefined: the server did not say). */
export function verifyLocks(
  t: LockTable | undefined,
  dbs: Map<string, LockingObjects>,
  to: number,
  method: string,
): Finding | undefined {
  if (!t) return undefined;
  const title = "The lock table holds the schema dump's locks";
  const capacity = lockCapacity(t);
  if (method === 'dump') return dumpLocks(t, dbs, title);
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
      `(max_locks_per_transaction ${t.max_locks} × ${t.connections + t.prepared} sessions): the upgrade Job starts pg_upgrade's servers with ` +
      `max_locks_per_transaction=${raised}, about ${mib} MiB more shared memory, for the upgrade only`,
  };
}

/** --method dump: pg_dump reads the running source, whose lock table is what it is until a restart. */
function dumpLocks(t: LockTable, dbs: Map<string, LockingObjects>, title: string): Finding {
  const capacity = lockCapacity(t);
  const locked = (d: LockingObjects) => d.tables ?? d.relations;
  const [name, most] = [...dbs.entries()].sort((a, b) => locked(b[1]) - locked(a[1]))[0] ?? ['', { relations: 0 }];
  const needed = locked(most) + HEADROOM;
  if (needed <= capacity)
    return {
      id: 'locks',
      title,
      status: 'pass',
      found: `pg_dump of ${name} takes about ${needed} locks; the table holds ${capacity}`,
    };
  const raised = maxLocksFor(t, needed) ?? t.max_locks;
  return {
    id: 'locks',
    title,
    status: 'fail',
    found: `pg_dump of database ${name} locks its ${locked(most)} tables in one transaction; the source's lock table holds ${capacity} (max_locks_per_transaction ${t.max_locks} × ${t.connections + t.prepared} sessions): the dump would fail with "out of shared memory" while the applications are down`,
    fix: `raise it on the source and restart it before the upgrade: ALTER SYSTEM SET max_locks_per_transaction = ${raised}; then restart its pod and run check again (or upgrade in place, whose Job raises it for pg_upgrade alone)`,
  };
}
