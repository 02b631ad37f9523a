/**
 * The majors the plugin upgrades from and to. Every pair that the target's pg_upgrade accepts is supported:
 * pg_upgrade 12 to 18 read clusters from 9.2 on; the plugin starts at 10, the oldest major whose images and
 * layouts it knows.
 */
export const SOURCE_MAJORS = [10, 11, 12, 13, 14, 15, 16, 17] as const;
export const TARGET_MAJORS = [12, 13, 14, 15, 16, 17, 18] as const;

/** The newest supported major: `--to`'s default. */
export const NEWEST_MAJOR = TARGET_MAJORS[TARGET_MAJORS.length - 1] as number;

/** How an upgrade moves the data. */
export type Method = 'link' | 'copy' | 'clone' | 'swap' | 'dump';

const span = (list: readonly number[]) => `${list[0]}–${list[list.length - 1]}`;

/** Why --to is refused before anything is read, or undefined. */
export function targetProblem(to: number): string | undefined {
  return TARGET_MAJORS.includes(to as never)
    ? undefined
    : `--to ${to} is not a supported target (supported: ${span(TARGET_MAJORS)})`;
}

/** Why an upgrade path is refused, or undefined when it is fine. */
export function upgradePathProblem(from: number, to: number, method: Method): string | undefined {
  if (!SOURCE_MAJORS.includes(from as never)) {
    return `PostgreSQL ${from} is not a major this plugin upgrades from (supported: ${span(SOURCE_MAJORS)})`;
  }
  const t = targetProblem(to);
  if (t) return t;
  if (to <= from) return `--to ${to} must be greater than the running major ${from}`;
  if (method === 'swap' && to < 18) return `--method swap needs a target of 18 or later (pg_upgrade --swap), not ${to}`;
  return undefined;
}

/** What a pair of majors asks of the user before pg_upgrade accepts it, as check's rules look for it. */
export interface PairTrap {
  id: string;
  /** The trap, as the README's table names it. */
  what: string;
}

/**
 * The traps of one pair: each is a check rule (src/postgres/rules.ts, rules-types.ts) that fires for the pairs
 * listed here, and nowhere else. The table of supported pairs in the README is made from this function.
 */
export function pairTraps(from: number, to: number): PairTrap[] {
  const out: PairTrap[] = [];
  const across = (major: number) => from < major && to >= major;
  if (across(12)) {
    out.push(
      { id: 'with-oids', what: 'tables WITH OIDS (gone in 12)' },
      { id: 'removed-types', what: 'abstime/reltime/tinterval columns (gone in 12)' },
      { id: 'sql-identifier', what: 'sql_identifier columns (stored differently from 12)' },
    );
  }
  if (across(14)) {
    out.push(
      { id: 'postfix-operators', what: 'postfix operators (gone in 14)' },
      { id: 'encoding-conversions', what: 'user encoding conversions (signature changed in 14)' },
    );
  }
  if (across(16)) {
    out.push(
      { id: 'aclitem-columns', what: 'aclitem columns (format changed in 16)' },
      {
        id: 'generated-children',
        what: 'generated columns of children whose parent column is plain (refused from 16)',
      },
    );
  }
  if (to >= 18) {
    out.push(
      { id: 'initdb', what: 'checksums on by default at 18 (initdb gets the old setting)' },
      { id: 'passwords', what: 'md5 passwords deprecated at 18' },
    );
    if (from === 17) out.push({ id: 'pg-attver', what: 'pg_attver column options (Debian 17 packages)' });
  }
  if (from < 17) out.push({ id: 'replication-slots', what: 'logical slots are not carried before 17' });
  return out;
}

/** pg_upgrade's flag for a method; copying is the default, and has no flag, before 16. */
export function pgUpgradeModeFlags(method: Exclude<Method, 'dump'>, to: number): string[] {
  if (method === 'copy') return to >= 16 ? ['--copy'] : [];
  return [`--${method}`];
}

/** Parses `server_version_num` (e.g. 130023) or a PG_VERSION file's content (e.g. "13") into a major. */
export function majorOf(version: string): number {
  const v = version.trim();
  if (/^\d{5,6}$/.test(v)) return Math.floor(Number(v) / 10000);
  const m = /^(\d+)/.exec(v);
  if (!m) throw new Error(`cannot read a PostgreSQL major from "${version}"`);
  return Number(m[1]);
}
