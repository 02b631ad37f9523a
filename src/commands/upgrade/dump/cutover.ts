import {
  serviceAtCutover,
  serviceMoved,
  serviceRestorePatch,
  serviceSelectorPatch,
  type ServiceSpec,
} from '../../../manifests/service-cutover.ts';
import { refOf } from '../../../postgres/workload.ts';
import { scaleTo, waitWorkloadReady } from '../../../steps/workload.ts';
import { DUMP_PAUSE, dst, phase, targetPassword, type DumpCtx, type DumpStep } from './ctx.ts';
import { resumePhase } from '../gitops.ts';
import { planAnalyze, planAppsUp, planCutover, planSourceDown, planVerified } from './planned.ts';
import { targetDiscovery } from './instance.ts';
import { holdOrCompare, verifyHeld } from './verify.ts';
import { ANALYZE_SCRIPT } from '../../../postgres/upgrade-script.ts';
import { runPsqlScript } from '../../../server/psql.ts';
import type { DumpState } from '../../../state/dump-state.ts';
import { keepsSourceRunning } from '../../../postgres/dump-source.ts';
import type { Cluster } from '../../../k8s/cluster.ts';
import { makeSourceWritable } from './source.ts';

const svcRef = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'Service', namespace: ns, name });

/** The `kubectl patch` that points one Service at the new pods, for --no-cutover and the dry run's reader. */
export function cutoverCommand(ns: string, name: string, before: ServiceSpec, to: Record<string, string>): string {
  return `kubectl -n ${ns} patch service ${name} --type merge -p '${JSON.stringify(serviceSelectorPatch(before, to, 5432))}'`;
}

/** Points each Service that led to the source at the new pods (a JSON merge patch of its selector). */
async function cutover(ctx: DumpCtx): Promise<string> {
  const s = dst(ctx);
  // Without a cutover the applications come back to the source: it is writable again first (its fingerprint read).
  const writable =
    !s.cutover && (await makeSourceWritable(ctx, ctx.d, ctx.password)) ? 'the source writable again; ' : '';
  if (!s.cutover)
    return `${writable}left to you (--no-cutover): ${s.services.map((x) => cutoverCommand(ctx.d.namespace, x.name, x.before, ctx.target.cutoverSelector)).join('; ') || 'no Service leads to the source'}`;
  for (const x of s.services) {
    const now = await ctx.cluster.readObject(svcRef(ctx.d.namespace, x.name));
    await ctx.cluster.patchObject(
      svcRef(ctx.d.namespace, x.name),
      serviceSelectorPatch(now?.spec ?? x.before, ctx.target.cutoverSelector, 5432),
      'merge',
    );
  }
  return s.services.map((x) => `Service ${x.name} → ${s.target.name}`).join(', ') || 'no Service leads to the source';
}

/** Scales the applications back to their recorded counts and waits until they are ready. */
export async function appsUp(cluster: Cluster, ns: string, s: DumpState, timeoutMs: number): Promise<string> {
  for (const a of s.apps) await scaleTo(cluster, ns, a, a.replicas);
  await Promise.all(s.apps.map((a) => waitWorkloadReady(cluster, ns, a, timeoutMs)));
  return s.apps.map((a) => `${refOf(a)} (${a.replicas})`).join(', ') || 'none';
}

/**
 * The Services that the cutover pointed at the new instance, back to their recorded selectors and ports (the
 * rollback), whether the cutover finished or stopped half-way (one patched, the next not); `left`: those that
 * someone pointed elsewhere since, which are theirs and stay as they are. `cutoverSelector` undefined (an existing
 * target's workload gone, its selector unknown): every Service that no longer leads to the old instance goes back.
 */
export async function restoreServices(
  cluster: Cluster,
  ns: string,
  s: DumpState,
  cutoverSelector: Record<string, string> | undefined,
): Promise<{ moved: string[]; left: string[] }> {
  const moved: string[] = [];
  const left: string[] = [];
  for (const x of s.services) {
    const now = (await cluster.readObject(svcRef(ns, x.name)))?.spec as ServiceSpec | undefined;
    if (!serviceMoved(now, x.before)) continue;
    if (cutoverSelector && !serviceAtCutover(now, cutoverSelector)) {
      left.push(x.name);
      continue;
    }
    await cluster.patchObject(svcRef(ns, x.name), serviceRestorePatch(now ?? {}, x.before), 'merge');
    moved.push(x.name);
  }
  return { moved, left };
}

/** Cutover (a snapshot of the new instance held first), the applications back, verify, statistics, the old instance stopped and kept, done. */
export function cutoverPhases(timeoutMs: number, fullVerify: boolean): Array<DumpStep> {
  return [
    phase(
      'cutover',
      fullVerify
        ? "Compare the whole content with the source's, then point the Services at the new instance"
        : 'Hold a snapshot of the new instance, then point the Services at it',
      async (ctx) => `${await holdOrCompare(ctx, fullVerify)}; ${await cutover(ctx)}`,
      (ctx) => planCutover(ctx, fullVerify),
    ),
    phase('apps-up', 'Scale the applications back up', (ctx) => appsBack(ctx, timeoutMs), planAppsUp),
    phase(
      'verified',
      "Compare the new instance's content, as held, with the source's fingerprint",
      verifyHeld,
      planVerified,
    ),
    phase(
      'analyzed',
      'Rebuild the planner statistics (vacuumdb --analyze-in-stages) while the applications run',
      analyze,
      planAnalyze,
    ),
    phase('source-down', 'Stop the old instance (kept, with its volume)', stopSource, planSourceDown),
    resumePhase(DUMP_PAUSE),
    phase('done', 'Record the upgrade as done', async () => undefined),
  ];
}

/** The applications back, and the downtime measured. */
async function appsBack(ctx: DumpCtx, timeoutMs: number): Promise<string> {
  const note = await appsUp(ctx.cluster, ctx.d.namespace, dst(ctx), timeoutMs);
  if (ctx.timings.downtime && ctx.timings.downtime > 1e12) ctx.timings.downtime = Date.now() - ctx.timings.downtime;
  return note;
}

/** vacuumdb --analyze-in-stages on the new instance, the applications running. */
async function analyze(ctx: DumpCtx): Promise<void> {
  await runPsqlScript(
    ctx.cluster,
    await targetDiscovery(ctx),
    targetPassword(ctx),
    ANALYZE_SCRIPT,
    String(dst(ctx).to),
    'vacuumdb',
  );
}

/** The old instance stopped and kept, unless nothing was cut over or it has no volume. */
async function stopSource(ctx: DumpCtx): Promise<string> {
  const s = dst(ctx);
  if (!s.cutover) return 'left running: nothing was cut over (--no-cutover)';
  // No volume: its data is in its container's writable layer, which scaling to 0 would erase (and --rollback with it).
  if (keepsSourceRunning(s))
    return `${refOf(s.workload)} left running: it has no volume, so stopped its data would be gone; it serves no one now`;
  await scaleTo(ctx.cluster, ctx.d.namespace, s.workload, 0);
  return `${refOf(s.workload)} scaled to 0; PVC ${s.pvc} kept`;
}
