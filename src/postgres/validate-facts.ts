import type { SkippedExtension } from './extension-guard.ts';

/** What `validate` reads from an upgraded server (src/postgres/validate-sql.ts), parsed from its JSON. */

export interface ValidateRole {
  name: string;
  login: boolean;
  hash: string;
  expired: boolean;
}

/** VALIDATE_CLUSTER_SQL's answer. */
export interface ValidateClusterFacts {
  versionNum: number;
  roles: ValidateRole[];
  databases: Array<{ name: string; allow: boolean }>;
}

/** validateDatabaseSql's answer for one database. */
export interface ValidateDbFacts {
  writes: Record<string, number>;
  statsReset: string | null;
  noStats: string[];
  extensions: Array<{ name: string; installed: string; default: string | null }>;
  /** Those of them whose update is not safe as superuser (--update-extensions skips them), without their database. */
  extensionRisks: Array<Omit<SkippedExtension, 'database'>>;
  collations: Array<{ name: string; recorded: string; actual: string | null }>;
  databaseCollation: { recorded: string | null; actual: string | null } | null;
  collationIndexes: string[];
  /** Partition keys and CHECK constraints that use a mismatched collation. */
  collationOthers: string[];
}

/** One index as AMCHECK_SQL reports it. */
export interface AmcheckResult {
  index: string;
  ok: boolean;
  error?: string;
}

export function parseValidateCluster(json: string): ValidateClusterFacts {
  const o = JSON.parse(json) as {
    version_num: number;
    roles: ValidateRole[];
    databases: ValidateClusterFacts['databases'];
  };
  return { versionNum: o.version_num, roles: o.roles ?? [], databases: o.databases ?? [] };
}

export function parseValidateDb(json: string): ValidateDbFacts {
  const o = JSON.parse(json) as Record<string, unknown>;
  return {
    writes: Object.fromEntries(
      Object.entries((o.writes ?? {}) as Record<string, number | string>).map(([k, v]) => [k, Number(v)]),
    ),
    statsReset: (o.stats_reset as string | null) ?? null,
    noStats: (o.no_stats ?? []) as string[],
    extensions: (o.extensions ?? []) as ValidateDbFacts['extensions'],
    extensionRisks: (o.extension_risks ?? []) as ValidateDbFacts['extensionRisks'],
    collations: (o.collations ?? []) as ValidateDbFacts['collations'],
    databaseCollation: (o.database_collation ?? null) as ValidateDbFacts['databaseCollation'],
    collationIndexes: (o.collation_indexes ?? []) as string[],
    collationOthers: (o.collation_others ?? []) as string[],
  };
}
