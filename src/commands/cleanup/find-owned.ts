import { CliError, ExitCode } from '../../exit-codes.ts';
import type { KObject } from '../../k8s/cluster.ts';
import { execSilenceMs } from '../../k8s/silence.ts';
import { EXISTING_PATHS_SCRIPT } from '../../postgres/cleanup-script.ts';
import { withHeartbeat } from '../../postgres/heartbeat.ts';
import type { Found } from './plan.ts';
import type { CleanupCtx } from './tasks.ts';

const OWNED = 'app.kubernetes.io/managed-by=kubectl-pgupgrade';

/**
 * Which of the old cluster's paths exist, looked at from the running database pod; undefined when it does not run,
 * or when this user may not exec (a read-only --dry-run then lists them as "if it is there").
 */
async function existingPaths(ctx: CleanupCtx): Promise<string[] | undefined> {
  const pod = ctx.d.pod;
  if (pod?.phase !== 'Running') return undefined;
  const execQuestions = ['get', 'create'].map((verb) => ({
    verb,
    group: '',
    resource: 'pods',
    subresource: 'exec',
    namespace: ctx.d.namespace,
  }));
  if (!(await ctx.cluster.canI(execQuestions)).every(Boolean)) return undefined;
  const r = await ctx.cluster.exec(ctx.d.namespace, pod.metadata.name, ctx.d.container.name, [
    'sh',
    '-c',
    withHeartbeat(EXISTING_PATHS_SCRIPT, execSilenceMs()),
    'sh',
    ctx.recorded.kept,
    ctx.recorded.work,
  ]);
  if (r.exitCode !== 0)
    throw new CliError(
      `looking for ${ctx.recorded.kept} in pod ${ctx.d.namespace}/${pod.metadata.name} failed: ${r.stderr.trim()}`,
      ExitCode.failed,
    );
  return r.stdout.split('\n').filter(Boolean);
}

/** Everything of the plugin's in the namespace, by its label: the plan then keeps only what the record names. */
export async function findOwned(ctx: CleanupCtx): Promise<Found> {
  const ns = ctx.d.namespace;
  const list = (apiVersion: string, kind: string) => ctx.cluster.listObjects(apiVersion, kind, ns, OWNED);
  const snapshots = ctx.state.snapshot
    ? await list('snapshot.storage.k8s.io/v1', 'VolumeSnapshot').catch((err: { code?: number }) => {
        if (err.code === 404) return [] as KObject[]; // the VolumeSnapshot API is not installed: there are none
        throw err;
      })
    : [];
  const [jobs, pods, pvcs, configMaps, paths] = await Promise.all([
    list('batch/v1', 'Job'),
    ctx.cluster.listPods(ns, { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade' }),
    list('v1', 'PersistentVolumeClaim'),
    list('v1', 'ConfigMap'),
    existingPaths(ctx),
  ]);
  return { jobs, pods, pvcs, snapshots, configMaps, paths };
}
