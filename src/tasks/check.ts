import type { ListrTask } from 'listr2';
import type { Cluster } from '../k8s/cluster.ts';
import { discover, type Discovery } from '../check/discover.ts';
import { CredentialsError, gatherServer, gatherVolume, readPassword, reachOf } from '../check/gather.ts';
import type { Evidence } from '../check/evaluate.ts';
import { usageError } from '../exit-codes.ts';
import { upgradePathProblem, majorOf, type Method } from '../postgres/versions.ts';
import { permissionsForMethod } from '../rbac.ts';
import type { DatabaseFacts, ServerFacts, VolumeFacts } from '../postgres/facts.ts';

/** What check's tasks share. */
export interface CheckCtx {
  cluster: Cluster;
  d: Discovery;
  password: string;
  access: Evidence['access'];
  snapshotDrivers?: string[];
  server?: ServerFacts;
  databases?: Map<string, DatabaseFacts>;
  credentialsError?: string;
  volume?: VolumeFacts;
}

/** The options that shape check. */
export interface CheckOptions {
  workload?: string;
  to: number;
  method: Method;
  appSelector: Record<string, string>;
}

/** The read-only preflight as a task tree; nothing here writes to the cluster. */
export function createCheckTasks(connect: () => Promise<Cluster>, opts: CheckOptions): Array<ListrTask<CheckCtx>> {
  return [
    {
      title: 'Connect to the cluster',
      task: async (ctx, task) => {
        ctx.cluster = await connect();
        task.title = `Connect to the cluster: context ${ctx.cluster.contextName}, namespace ${ctx.cluster.namespace}`;
      },
    },
    {
      title: 'Find the PostgreSQL workload',
      task: async (ctx, task) => {
        ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, opts.appSelector);
        task.title = `Find the PostgreSQL workload: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, PVC ${ctx.d.pvc.metadata.name}`;
      },
    },
    {
      title: 'Ask the apiserver what this user may do',
      task: async (ctx) => {
        const perms = permissionsForMethod(opts.method);
        const answers = await ctx.cluster.canI(perms.map((p) => ({ ...p, namespace: p.clusterScoped ? undefined : ctx.d.namespace })));
        ctx.access = perms.map((permission, i) => ({ permission, allowed: answers[i] === true }));
        ctx.snapshotDrivers = await ctx.cluster.snapshotClassDrivers().catch(() => undefined);
      },
    },
    {
      title: 'Read the superuser password from its Secret',
      task: async (ctx) => {
        reachOf(ctx.d);
        ctx.password = await readPassword(ctx.cluster, ctx.d);
      },
    },
    {
      title: 'Query the server',
      task: async (ctx, task) => {
        try {
          const got = await gatherServer(ctx.cluster, ctx.d, reachOf(ctx.d), ctx.password);
          Object.assign(ctx, got);
          const from = majorOf(String(got.server.versionNum));
          const problem = upgradePathProblem(from, opts.to, opts.method);
          if (problem && opts.to <= from) throw usageError(`${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} runs PostgreSQL ${got.server.version}: ${problem}`);
          task.title = `Query the server: PostgreSQL ${got.server.version}, ${got.databases.size} databases`;
        } catch (err) {
          if (!(err instanceof CredentialsError)) throw err;
          ctx.credentialsError = err.message;
        }
      },
    },
    {
      title: 'Inspect the data volume',
      task: async (ctx) => {
        ctx.volume = await gatherVolume(ctx.cluster, ctx.d, reachOf(ctx.d), ctx.server?.dataDirectory ?? ctx.d.pgdata);
      },
    },
  ];
}
