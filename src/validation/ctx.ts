import type { Cluster, KObject } from '../k8s/cluster.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import { liveReach } from '../server/reach.ts';
import { psqlEach } from '../server/psql.ts';
import type { Fingerprint } from '../postgres/fingerprint.ts';
import {
  parseValidateDb,
  type AmcheckResult,
  type ValidateClusterFacts,
  type ValidateDbFacts,
} from '../postgres/validate-facts.ts';
import { validateDatabaseSql } from '../postgres/validate-sql.ts';
import type { Reference } from '../state/reference.ts';
import type { ValidatedUpgrade } from '../state/validated-upgrade.ts';

/** What `validate` was asked to do. */
export interface ValidateOptions {
  workload?: string;
  analyze: boolean;
  updateExtensions: boolean;
  reindexCollations: boolean;
  amcheck: boolean;
  /** Set by `upgrade`, which has just compared the data itself: the data check passes with this text, unread. */
  dataComparedBy?: string;
  /** --superuser-secret: where the superuser's password is, when the pod spec does not say. */
  superuserSecret?: { name: string; key: string };
}

/** What the tasks find, for the judges in run.ts. */
export interface ValidateCtx {
  cluster: Cluster;
  /** The server validated: the workload upgraded in place, or the new instance of an upgrade by dump. */
  d: SourceDiscovery;
  /** The upgrade's record, in place or by dump, as validate sees it. */
  state: ValidatedUpgrade;
  /** The record's ConfigMap, where a pass is recorded (validated-at). */
  stateConfigMap: string;
  password: string;
  server?: ValidateClusterFacts;
  /** The databases that allow connections (template0 does not), each read in turn. */
  databases: string[];
  dbs: Map<string, ValidateDbFacts>;
  /** The error of a database that refused the connection. */
  connectError?: string;
  fingerprint?: Fingerprint;
  reference?: Reference;
  amcheck?: Map<string, AmcheckResult[]>;
  repairs: string[];
  apps: Array<KObject | undefined>;
  jobs: KObject[];
}

/** Runs one SQL text in each of `dbs`. */
export const run = (ctx: ValidateCtx, dbs: string[], sql: string) =>
  psqlEach(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password, dbs, sql);

/** Reads each database's facts; a database that refuses the connection is recorded, not thrown. */
export async function readDatabases(ctx: ValidateCtx): Promise<void> {
  const major = Math.floor((ctx.server?.versionNum ?? 0) / 10000);
  try {
    const out = await run(ctx, ctx.databases, validateDatabaseSql(major));
    ctx.dbs = new Map([...out].map(([db, json]) => [db, parseValidateDb(json)]));
  } catch (err) {
    ctx.connectError = (err as Error).message;
    ctx.dbs = new Map();
  }
}
