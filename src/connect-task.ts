import type { ListrTask } from 'listr2';
import type { Cluster } from './k8s/cluster.ts';

/** The first task of every command that talks to the cluster: connect, and say which context and namespace. */
export function connectTask<C extends { cluster: Cluster }>(connect: () => Promise<Cluster>): ListrTask<C> {
  return {
    title: 'Connect to the cluster',
    task: async (ctx, task) => {
      ctx.cluster = await connect();
      task.title = `Connect to the cluster: context ${ctx.cluster.contextName}, namespace ${ctx.cluster.namespace}`;
    },
  };
}
