import type { SourceDiscovery } from '../../../discovery/discover.ts';
import { asDumpTarget, readyPodOf } from '../../../discovery/dump-target.ts';
import { CliError, ExitCode } from '../../../exit-codes.ts';
import type { KObject, Pod } from '../../../k8s/cluster.ts';
import { SYNC_SCRIPT, settingsToPutBack } from '../../../postgres/dump-plan.ts';
import { READ_PASSWORD_SH } from '../../../postgres/psql-scripts.ts';
import { SAFE_SESSION_SH } from '../../../postgres/session.ts';
import { liveReach } from '../../../server/reach.ts';
import { psqlEach, runPsqlScript } from '../../../server/psql.ts';
import { autoConfSql, parsePriorSettings, type PriorSetting } from '../../../postgres/alter-system.ts';
import { poll } from '../../../steps/poll.ts';
import { scaleTo, waitPodsGone, waitWorkloadReady } from '../../../steps/workload.ts';
import { dst, targetPassword, type DumpCtx } from './ctx.ts';
import { dumpTargetSecret } from '../../../manifests/dump-target.ts';
import { refOf } from '../../../postgres/workload.ts';
import { withHeartbeat } from '../../../postgres/heartbeat.ts';
import { execSilenceMs } from '../../../k8s/silence.ts';

/** Runs SQL of ours (no password; a value read back from the server's own settings only as a quoted literal) statement by statement (ALTER SYSTEM refuses a transaction block). Args: $1 user, $2 port, $3 SQL. */
export const TARGET_SQL_SCRIPT = `${READ_PASSWORD_SH}
export PGPASSWORD
${SAFE_SESSION_SH}
printf '%s\\n' "$3" | psql -X -w -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$2" -U "$1" -d postgres -f -`;

const targetRef = (ctx: DumpCtx) => ({ kind: dst(ctx).target.kind, name: dst(ctx).target.name, replicas: 1 });

/** The new instance's ready pod. */
export async function targetPod(ctx: DumpCtx): Promise<Pod> {
  const pod = readyPodOf(await ctx.cluster.listPods(ctx.d.namespace, ctx.target.cutoverSelector));
  if (!pod)
    throw new CliError(
      `no ready pod of ${dst(ctx).target.kind} ${ctx.d.namespace}/${dst(ctx).target.name}`,
      ExitCode.failed,
    );
  return pod;
}

/**
 * How long a step that needs the new instance waits for its pod to be Ready: on a loaded node a readiness probe can
 * time out once, and a pod that was Ready a moment ago is then briefly not.
 */
const READY_WAIT_MS = 120_000;

/**
 * A run stopped inside a restart of the new instance (after its scale to 0, before its scale back to 1) leaves it
 * at 0 replicas, with its phase not recorded: the re-run's first step that needs it scales it back up.
 */
async function targetUp(ctx: DumpCtx): Promise<void> {
  const w = await ctx.cluster.getWorkload(ctx.d.namespace, dst(ctx).target.kind, dst(ctx).target.name);
  if (w?.replicas === 0) await scaleTo(ctx.cluster, ctx.d.namespace, targetRef(ctx), 1);
}

/** The new instance as psql and the fingerprint reach it (up again if a stopped run left it at 0): its pod, its container, its superuser, port 5432. */
export async function targetDiscovery(ctx: DumpCtx): Promise<SourceDiscovery> {
  const s = dst(ctx);
  await targetUp(ctx);
  const pod = await poll(
    `a ready pod of ${s.target.name}`,
    READY_WAIT_MS,
    async () => targetPod(ctx).catch(() => undefined),
    `kubectl -n ${ctx.d.namespace} describe pods -l ${Object.entries(ctx.target.cutoverSelector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}`,
  );
  // An existing target is reached as discovered (its own port and superuser); the plugin's own as its record says.
  return ctx.existing ? { ...ctx.existing.d, pod } : asDumpTarget(ctx.d, s.target, pod);
}

/** Runs our SQL on the new instance as its superuser. */
export async function targetSql(ctx: DumpCtx, sql: string, what: string): Promise<void> {
  await runPsqlScript(ctx.cluster, await targetDiscovery(ctx), targetPassword(ctx), TARGET_SQL_SCRIPT, sql, what);
}

/** The target's own ALTER SYSTEM values (its postgresql.auto.conf) of the settings that the load changes. */
export async function targetPrior(ctx: DumpCtx): Promise<PriorSetting[]> {
  const t = await targetDiscovery(ctx);
  const sql = autoConfSql(settingsToPutBack(dst(ctx).settings));
  return parsePriorSettings(
    (await psqlEach(ctx.cluster, t, liveReach(t), targetPassword(ctx), ['postgres'], sql)).get('postgres') ?? '[]',
  );
}

/** Puts what the load wrote with fsync off on disk: sync in the new pod (its volume's filesystem with the rest). */
export async function syncTarget(ctx: DumpCtx): Promise<void> {
  const t = await targetDiscovery(ctx);
  const r = await ctx.cluster.exec(ctx.d.namespace, t.pod?.metadata.name as string, dst(ctx).target.container, [
    'sh',
    '-c',
    withHeartbeat(SYNC_SCRIPT, execSilenceMs()),
  ]);
  if (r.exitCode !== 0)
    throw new CliError(
      `sync in the new instance's pod ${t.pod?.metadata.name} failed (exit ${r.exitCode}): ${r.stderr.trim()}`,
      ExitCode.failed,
    );
}

const isConflict = (err: unknown) => (err as { code?: number }).code === 409;

/** Creates an object; one that exists already (a resumed run made it) is taken as made. */
export async function createOnce(ctx: DumpCtx, o: KObject): Promise<void> {
  await ctx.cluster.createObject(o).catch((err: unknown) => {
    if (!isConflict(err)) throw err;
  });
}

/**
 * Creates the new instance's superuser Secret (where the source had its password in its manifest), PVC, Service and
 * workload, in that order. A Secret made by an earlier run is kept as it is: a re-run neither makes a second one nor
 * changes it.
 */
export async function createTarget(ctx: DumpCtx): Promise<void> {
  const s = dst(ctx);
  const secret = s.target.secret
    ? [dumpTargetSecret(ctx.d.namespace, s.target.name, refOf(s.workload), ctx.password)]
    : [];
  for (const o of [...secret, ctx.target.pvc, ctx.target.service, ctx.target.workload]) await createOnce(ctx, o);
}

/** Waits until the new instance has its one ready replica. */
export async function waitTargetReady(ctx: DumpCtx, timeoutMs: number): Promise<void> {
  await waitWorkloadReady(ctx.cluster, ctx.d.namespace, targetRef(ctx), timeoutMs);
  await poll(`a ready pod of ${dst(ctx).target.name}`, timeoutMs, async () =>
    (await targetPod(ctx).catch(() => undefined)) ? true : undefined,
  );
}

/**
 * Restarts the new instance (scale 0, its pod gone, `whileStopped`, scale 1, ready): restart-only settings take
 * effect.
 */
export async function restartTarget(
  ctx: DumpCtx,
  timeoutMs: number,
  whileStopped?: () => Promise<void>,
): Promise<void> {
  await scaleTo(ctx.cluster, ctx.d.namespace, targetRef(ctx), 0);
  await waitPodsGone(
    ctx.cluster,
    ctx.d.namespace,
    ctx.target.cutoverSelector,
    `the pod of ${dst(ctx).target.name}`,
    timeoutMs,
  );
  await whileStopped?.();
  await scaleTo(ctx.cluster, ctx.d.namespace, targetRef(ctx), 1);
  await waitTargetReady(ctx, timeoutMs);
}

/**
 * A load that did not finish left a half-written target: it is made empty again (its PVC deleted and created
 * anew while it is stopped, so initdb runs again), never resumed.
 */
export async function resetTarget(ctx: DumpCtx, timeoutMs: number): Promise<void> {
  const ns = ctx.d.namespace;
  const pvc = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: dst(ctx).target.pvc };
  await restartTarget(ctx, timeoutMs, async () => {
    await ctx.cluster.deleteObject(pvc);
    await poll(`PVC ${ns}/${pvc.name} to be deleted`, timeoutMs, async () =>
      (await ctx.cluster.readObject(pvc)) ? undefined : true,
    );
    await ctx.cluster.createObject(ctx.target.pvc);
  });
}
