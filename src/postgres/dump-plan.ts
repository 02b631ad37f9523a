import { loadMaxLocks } from './locks.ts';
import type { ContainerResources } from '../k8s/pod-spec.ts';
import { parseQuantity } from '../k8s/quantity.ts';
import { restoreStatements, type PriorSetting } from './alter-system.ts';

/**
 * What the dump method sets on the new instance while it is loaded, and what it must put back. Measured on 2 cores
 * (issue 14): tuning the target is the lever (the restore alone went from 10.5 s to 4.7 s), parallelism only pays
 * with more cores. Every setting here is crash-unsafe: a failed load is redone from an empty target, never resumed.
 */

/** One server setting for the load, and whether changing it needs a restart (not only a reload). */
export interface LoadSetting {
  name: string;
  value: string;
  restart: boolean;
}

/** The CPU and memory that Kubernetes gives a container (`resources`), as the pod spec writes them. */
export type Resources = ContainerResources;

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * maintenance_work_mem for the load: index builds and foreign-key checks use it, once per parallel job, so a
 * quarter of the memory limit (else the request) is shared by the jobs, between 64 MiB and 2 GiB each. With no
 * memory given, 256 MiB: what a small node can spare for one index build.
 */
export function maintenanceWorkMem(resources: Resources | undefined, jobs: number): string {
  const mem = resources?.limits?.memory ?? resources?.requests?.memory;
  if (!mem) return '256MB';
  const each = parseQuantity(mem) / 4 / Math.max(1, jobs);
  const clamped = Math.min(2 * GiB, Math.max(64 * MiB, each));
  return `${Math.floor(clamped / MiB)}MB`;
}

/**
 * The target's settings during the load: no fsync, no WAL beyond what crash recovery of an unlogged load needs
 * (wal_level=minimal lets COPY into a table created in the same transaction skip WAL, and needs max_wal_senders=0;
 * measured at pgbench s150 on 2 cores: the stream into one transaction 24 s and 16 MB of WAL, against 37 s and
 * 1.5 GB of WAL without it),
 * no autovacuum racing the load (ANALYZE runs after), and checkpoints spaced out.
 */
export function loadSettings(resources: Resources | undefined, jobs: number, locked = 0): LoadSetting[] {
  return [
    { name: 'fsync', value: 'off', restart: false },
    { name: 'synchronous_commit', value: 'off', restart: false },
    { name: 'full_page_writes', value: 'off', restart: false },
    { name: 'wal_level', value: 'minimal', restart: true },
    { name: 'max_wal_senders', value: '0', restart: true },
    { name: 'archive_mode', value: 'off', restart: true },
    { name: 'autovacuum', value: 'off', restart: false },
    { name: 'max_wal_size', value: '4GB', restart: false },
    { name: 'checkpoint_timeout', value: '30min', restart: false },
    { name: 'maintenance_work_mem', value: maintenanceWorkMem(resources, jobs), restart: false },
    // Each database loads in one transaction (DUMP_RESTORE_SCRIPT), which locks every relation it makes: room for
    // about 256 × max_connections of them (the default gives 64 ×), more for a database of more relations and large
    // objects (`locked`: the biggest database's).
    { name: 'max_locks_per_transaction', value: String(loadMaxLocks(locked)), restart: true },
  ];
}

/** The names that the load changed: each is RESET after it (back to the image's or the user's own configuration). */
export function settingsToPutBack(settings: LoadSetting[]): string[] {
  return settings.map((s) => s.name);
}

/** Whether putting the settings back needs a restart of the target (wal_level and max_wal_senders do). */
export function shouldRestartAfterLoad(settings: LoadSetting[]): boolean {
  return settings.some((s) => s.restart);
}

/** ALTER SYSTEM statements for the load (constant names and values of ours: no user text in them). */
export function loadSettingsSql(settings: LoadSetting[]): string {
  return settings.map((s) => `ALTER SYSTEM SET ${s.name} = '${s.value}';`).join('\n');
}

/**
 * The statements that put the durable settings back, before anything but the plugin connects: each as the target's
 * own postgresql.auto.conf had it before the load (`prior`: set to its old value again, or RESET where it had
 * none), the configuration read again, and a CHECKPOINT that writes every dirty page out. That is not yet durable:
 * while fsync was off, PostgreSQL dropped its fsync requests (a checkpoint during the load forgets them), so the
 * files that the load wrote may sit in the kernel's cache; SYNC_SCRIPT, run next in the pod, puts them on disk.
 */
export function putBackSql(settings: LoadSetting[], prior: PriorSetting[] = []): string {
  return [
    ...restoreStatements(settingsToPutBack(settings), prior),
    'SELECT pg_catalog.pg_reload_conf();',
    'CHECKPOINT;',
  ].join('\n');
}

/** The settings whose being off makes a crash of the target corrupt it: said while a stopped load leaves them off. */
export const CRASH_UNSAFE = ['fsync', 'full_page_writes'];

/**
 * What a run that stopped between the load's tuning and its putting back says: the target runs with fsync and
 * full_page_writes off, and how to put them back now (psql in its pod) or by the plugin (a resume, after the load).
 */
export function tuningLeftNote(o: {
  ns: string;
  target: string;
  container: string;
  superuser: string;
  prior: PriorSetting[];
  resume: string;
}): string {
  const sql = [...restoreStatements(CRASH_UNSAFE, o.prior), 'SELECT pg_catalog.pg_reload_conf();'];
  return (
    `fsync and full_page_writes are off on ${o.target} (tuned for the load): a crash of its server now can corrupt it. ` +
    `A resume puts them back after the load (${o.resume}); to put them back now: kubectl -n ${o.ns} exec ${o.target} -c ${o.container} -- ` +
    `psql -X -U ${o.superuser} -d postgres ${sql.map((q) => `-c "${q.replace(/;$/, '')}"`).join(' ')}`
  );
}

/** Flushes the kernel's cache to disk (the load's files, written with fsync off); sync(2) needs no privilege. */
export const SYNC_SCRIPT = 'sync';

/** The settings as server options (`-c name=value`), for a target started with them on its command line. */
export function loadServerArgs(settings: LoadSetting[]): string[] {
  return settings.flatMap((s) => ['-c', `${s.name}=${s.value}`]);
}

/** CPUs from a quantity ("1500m" → 1.5; parseQuantity rounds to whole units), undefined when unset or unreadable. */
function cpus(q: string | undefined): number | undefined {
  if (!q) return undefined;
  try {
    return /^[0-9]+m$/.test(q.trim()) ? Number(q.trim().slice(0, -1)) / 1000 : parseQuantity(q);
  } catch {
    return undefined;
  }
}

/**
 * `--jobs` for pg_dump -j and pg_restore -j: the CPUs that both pods may use (the limit, else the request; the
 * smaller of the two pods), rounded down, at least 1 and at most 8. With no CPU given to either pod, 2: the node's
 * size is unknown, and on a small node more jobs only compete (measured: -j2 untuned was slower than one stream).
 */
export function chooseJobs(source: Resources | undefined, target: Resources | undefined): number {
  const of = (r: Resources | undefined) => cpus(r?.limits?.cpu) ?? cpus(r?.requests?.cpu);
  const known = [of(source), of(target)].filter((n): n is number => n !== undefined);
  if (!known.length) return 2;
  return Math.min(8, Math.max(1, Math.floor(Math.min(...known))));
}
