/** The PostgreSQL majors the plugin upgrades from and to (those whose binaries it is tested with). */
export const SUPPORTED_MAJORS = [13, 15, 17, 18] as const;

/** The newest supported major: `--to`'s default. */
export const NEWEST_MAJOR = SUPPORTED_MAJORS[SUPPORTED_MAJORS.length - 1] as number;

/** How an upgrade moves the data. */
export type Method = 'link' | 'copy' | 'clone' | 'swap' | 'dump';

/** Why an upgrade path is refused, or undefined when it is fine. */
export function upgradePathProblem(from: number, to: number, method: Method): string | undefined {
  if (!SUPPORTED_MAJORS.includes(from as never)) {
    return `PostgreSQL ${from} is not a major this plugin upgrades from (supported: ${SUPPORTED_MAJORS.join(', ')})`;
  }
  if (!SUPPORTED_MAJORS.includes(to as never)) {
    return `--to ${to} is not a supported target (supported: ${SUPPORTED_MAJORS.join(', ')})`;
  }
  if (to <= from) return `--to ${to} must be greater than the running major ${from}`;
  if (method === 'swap' && to < 18) return `--method swap needs a target of 18 or later (pg_upgrade --swap), not ${to}`;
  return undefined;
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
