import type { ListrTask } from 'listr2';
import type { Cluster } from '../k8s/cluster.ts';
import { liveReach } from '../server/reach.ts';
import { runPsqlScript } from '../server/psql.ts';
import { fingerprintVia } from '../fingerprint/read.ts';
import { ANALYZE_SCRIPT } from '../postgres/upgrade-script.ts';
import { parseValidateCluster, type AmcheckResult, type ValidateClusterFacts } from '../postgres/validate-facts.ts';
import {
  AMCHECK_SQL,
  refreshCollationsSql,
  UPDATE_EXTENSIONS_SQL,
  VALIDATE_CLUSTER_SQL,
} from '../postgres/validate-sql.ts';
import { connectTask } from '../connect-task.ts';
import { parseSkipped } from '../postgres/extension-guard.ts';
import { createKubernetesTasks } from './cluster-checks.ts';
import { findTask, readReference } from './find.ts';
import { readDatabases, run, type ValidateCtx, type ValidateOptions } from './ctx.ts';

export type { ValidateCtx, ValidateOptions } from './ctx.ts';

/** The repairs that the flags ask for, each before the facts it repairs are read. */
function repairTasks(opts: ValidateOptions): Array<ListrTask<ValidateCtx>> {
  const live = (ctx: ValidateCtx) => !!ctx.server;
  return [
    {
      title: "Reindex the indexes on mismatched collations, then record the library's versions",
      enabled: (ctx) => opts.reindexCollations && live(ctx),
      task: async (ctx) => {
        await run(
          ctx,
          ctx.databases,
          refreshCollationsSql(Math.floor((ctx.server as ValidateClusterFacts).versionNum / 10000)),
        );
        ctx.repairs.push('collations: indexes on mismatched collations reindexed, versions refreshed');
      },
    },
    {
      title: "Update the extensions to the target's default versions (ALTER EXTENSION … UPDATE)",
      enabled: (ctx) => opts.updateExtensions && live(ctx),
      task: async (ctx) => {
        const skipped = parseSkipped([...(await run(ctx, ctx.databases, UPDATE_EXTENSIONS_SQL)).values()].join('\n'));
        // Those skipped stay older than the default: the extensions check names them, with their statements.
        ctx.repairs.push(
          `extensions: updated to their default versions${
            skipped.length
              ? `, but for ${skipped.map((x) => `${x.extension} in database ${x.database}`).join(', ')} ` +
                '(its schema is not safe: see the extensions check)'
              : ''
          }`,
        );
      },
    },
    {
      title: 'Rebuild the planner statistics (vacuumdb --all --analyze-in-stages)',
      enabled: (ctx) => opts.analyze && live(ctx),
      task: async (ctx) => {
        await runPsqlScript(ctx.cluster, ctx.d, ctx.password, ANALYZE_SCRIPT, String(ctx.state.to), 'vacuumdb');
        ctx.repairs.push('statistics: vacuumdb --all --analyze-in-stages');
      },
    },
  ];
}

/** The tree: find, read the server, repair when asked, read, compare, amcheck, then the Kubernetes side. */
export function createValidateTasks(
  connect: () => Promise<Cluster>,
  opts: ValidateOptions,
): Array<ListrTask<ValidateCtx>> {
  const live = (ctx: ValidateCtx) => !!ctx.server;
  return [
    connectTask<ValidateCtx>(connect),
    findTask(opts),
    {
      title: 'Read the server: version, roles, databases',
      enabled: (ctx) => !!ctx.d?.pod?.ready,
      task: async (ctx, task) => {
        const json = (await run(ctx, ['postgres'], VALIDATE_CLUSTER_SQL)).get('postgres');
        if (!json) throw new Error(`no answer from the server in ${ctx.d.namespace}/${ctx.d.pod?.metadata.name}`);
        ctx.server = parseValidateCluster(json);
        ctx.databases = ctx.server.databases.filter((d) => d.allow).map((d) => d.name);
        task.title = `Read the server: PostgreSQL ${Math.floor(ctx.server.versionNum / 10000)}.${ctx.server.versionNum % 10000}, ${ctx.databases.length} databases, ${ctx.server.roles.length} roles`;
      },
    },
    ...repairTasks(opts),
    {
      title: opts.dataComparedBy
        ? 'Read the reference fingerprint (its roles); the data was compared by the upgrade'
        : 'Read the data (the fingerprint) and compare it with the reference',
      enabled: live,
      task: async (ctx, task) => {
        if (!opts.dataComparedBy)
          ctx.fingerprint = await fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
        ctx.reference = await readReference(ctx.cluster, ctx.d.namespace, ctx.state);
        if (opts.dataComparedBy)
          return void (task.title = `Read the reference fingerprint (${ctx.reference?.source ?? 'none'}); the data was compared by the upgrade`);
        task.title = ctx.reference
          ? `Read the data and the reference (${ctx.reference.source})`
          : `Read the data; no reference fingerprint (ConfigMap ${ctx.state.fingerprintConfigMap}) to compare with`;
      },
    },
    {
      // After the fingerprint, so that every write it saw is counted by then.
      title: 'Read each database: activity counters, statistics, extensions, collations',
      enabled: live,
      task: async (ctx) => readDatabases(ctx),
    },
    {
      title: 'Check every B-tree index with amcheck (bt_index_check)',
      enabled: (ctx) => opts.amcheck && live(ctx) && !ctx.connectError,
      task: async (ctx, task) => {
        const out = await run(ctx, ctx.databases, AMCHECK_SQL);
        ctx.amcheck = new Map([...out].map(([db, json]) => [db, JSON.parse(json) as AmcheckResult[]]));
        const all = [...ctx.amcheck.values()].flat();
        task.title = `Check every B-tree index with amcheck: ${all.length} checked, ${all.filter((r) => !r.ok).length} failed`;
      },
    },
    ...createKubernetesTasks(),
  ];
}
