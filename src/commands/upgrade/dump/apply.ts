import type { ListrTask } from 'listr2';
import { loadSettingsSql, putBackSql, shouldRestartAfterLoad } from '../../../postgres/dump-plan.ts';
import { makeSourceReadOnly } from './source.ts';
import { refOf } from '../../../postgres/workload.ts';
import { isDumpDone } from '../../../state/dump-state.ts';
import { scaleTo } from '../../../steps/workload.ts';
import { appsBackProblem, waitScaledDown } from '../../../steps/still-down.ts';
import { CliError, ExitCode } from '../../../exit-codes.ts';
import { DUMP_PAUSE, DUMP_RECORD, dst, phase, recordDump, recordState, type DumpCtx, type DumpStep } from './ctx.ts';
import { pausePhase } from '../gitops.ts';
import { cutoverPhases } from './cutover.ts';
import { phasePlan, phaseTasks, type Planned } from '../../../engine/phases.ts';
import {
  planAppsDown,
  planLoad,
  planReadOnly,
  planRecord,
  planSettingsBack,
  planTarget,
  planTuning,
} from './planned.ts';
import {
  createTarget,
  resetTarget,
  restartTarget,
  syncTarget,
  targetPrior,
  targetSql,
  waitTargetReady,
} from './instance.ts';
import { loadStopped, loadTarget } from './load.ts';
import { forgetSourceReference } from './source-reference.ts';
import { existingContent, halfLoaded } from './existing.ts';

/** Scales the applications down and waits until their pods are gone (the dump must hold every committed write). */
async function appsDown(ctx: DumpCtx, timeoutMs: number): Promise<string> {
  ctx.timings.downtime = Date.now();
  for (const a of dst(ctx).apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, 0);
  const rollback = `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(dst(ctx).workload)} --rollback`;
  await Promise.all(
    ctx.d.apps.map((a) =>
      waitScaledDown(
        ctx.cluster,
        ctx.d.namespace,
        { kind: a.kind, name: a.metadata.name, selector: a.selector, matchExpressions: a.matchExpressions },
        `the pods of ${refOf({ kind: a.kind, name: a.metadata.name })}`,
        rollback,
        timeoutMs,
      ),
    ),
  );
  return (
    dst(ctx)
      .apps.map((a) => `${refOf(a)} (${a.replicas} → 0)`)
      .join(', ') || 'none match the selector'
  );
}

/**
 * Tunes the new instance for the load: ALTER SYSTEM, then a restart for the settings that need one. Its own
 * ALTER SYSTEM values of those settings are recorded first, once (a tuning redone must not take the load's for them).
 */
async function tuneTarget(ctx: DumpCtx, timeoutMs: number): Promise<void> {
  if (!dst(ctx).targetBefore && !isDumpDone(ctx.state, 'target-tuned')) {
    ctx.state = { ...dst(ctx), targetBefore: await targetPrior(ctx) };
    await recordState(ctx);
  }
  await targetSql(ctx, loadSettingsSql(dst(ctx).settings), 'tuning the new instance for the load');
  await restartTarget(ctx, timeoutMs);
}

/**
 * The load, from an empty target: a half-written one (load-started recorded, loaded not) is emptied first when the
 * plugin made it (its PVC made anew); an existing target is never reset: the run stops (exit 2) naming what the
 * load made there, for its owner to drop, and goes on once it is empty again.
 */
async function load(ctx: DumpCtx, timeoutMs: number, report: (text: string) => void): Promise<string> {
  const back = await appsBackProblem(
    ctx.cluster,
    ctx.d.namespace,
    dst(ctx).apps,
    `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(dst(ctx).workload)} --rollback`,
  );
  if (back) throw new CliError(back, ExitCode.failed);
  if (isDumpDone(ctx.state, 'load-started')) {
    if (ctx.existing) {
      const content = await existingContent(ctx.cluster, ctx.existing);
      if (content)
        throw halfLoaded(
          ctx.d.namespace,
          ctx.existing,
          content,
          `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(dst(ctx).workload)} --rollback`,
        );
    } else {
      await resetTarget(ctx, timeoutMs);
    }
    await tuneTarget(ctx, timeoutMs);
  } else {
    await forgetSourceReference(ctx);
    await recordDump(ctx, 'load-started');
  }
  return loadTarget(ctx, report).catch((err: unknown) => {
    throw loadStopped(err, dst(ctx).target.existing);
  });
}

/** The upgrade by dump as a table of phases, from the new instance's creation to the old one's stop. */
export function dumpPhases(timeoutSeconds: number, fullVerify: boolean): Array<DumpStep> {
  const timeout = timeoutSeconds * 1000;
  return [
    {
      // Not skipped by its phase: the new record's phase is `preflight` from the start; it is written here first.
      title: 'Record the plan',
      skip: (ctx) => ctx.resuming && 'resuming the record',
      step: (ctx) => recordDump(ctx, 'preflight'),
      plan: planRecord,
    },
    phase(
      'target-created',
      'Create the new instance: its PVC, Service and workload (and its superuser Secret where the source had none)',
      (ctx) => createTargetStep(ctx),
      planTarget,
    ),
    phase('target-ready', 'Wait until the new instance is ready', async (ctx) => waitTargetReady(ctx, timeout)),
    phase(
      'target-tuned',
      'Tune the new instance for the load (ALTER SYSTEM, restart)',
      async (ctx) => {
        await tuneTarget(ctx, timeout);
        return dst(ctx)
          .settings.map((s) => `${s.name}=${s.value}`)
          .join(', ');
      },
      planTuning,
    ),
    pausePhase(DUMP_PAUSE, (ctx) => ctx.stateName),
    phase('apps-down', 'Scale the applications down', (ctx) => appsDown(ctx, timeout), planAppsDown),
    phase(
      'source-read-only',
      'Make the source read-only and end every other session (clients outside the selector)',
      (ctx) => makeSourceReadOnly(ctx, timeout),
      planReadOnly,
    ),
    phase(
      'loaded',
      'Dump the source and restore it into the new instance (globals first)',
      (ctx, report) => load(ctx, timeout, report),
      planLoad,
    ),
    phase(
      'settings-back',
      "Put the new instance's durable settings back",
      (ctx) => settingsBack(ctx, timeout),
      planSettingsBack,
    ),
    ...cutoverPhases(timeout, fullVerify),
  ];
}

/** The new instance's objects made (none for an existing --target). */
async function createTargetStep(ctx: DumpCtx): Promise<string> {
  const t = dst(ctx).target;
  if (t.existing) return `none: the existing ${t.kind} ${t.name} (--target) is loaded into`;
  await createTarget(ctx);
  return `${t.kind} ${t.name}, PVC ${t.pvc}, Service ${t.service}${t.secret ? `, Secret ${t.secret} (its superuser's password)` : ''}`;
}

/** The load's settings put back as the new instance's own ALTER SYSTEM had them, synced, restarted if they need it. */
async function settingsBack(ctx: DumpCtx, timeout: number): Promise<void> {
  await targetSql(ctx, putBackSql(dst(ctx).settings, dst(ctx).targetBefore), 'putting the settings back');
  await syncTarget(ctx);
  if (shouldRestartAfterLoad(dst(ctx).settings)) await restartTarget(ctx, timeout);
}

/** The recorded phases of an upgrade by dump, as tasks; a resumed run skips what is done. */
export function createDumpApplyTasks(timeoutSeconds: number, fullVerify: boolean): Array<ListrTask<DumpCtx>> {
  return phaseTasks(DUMP_RECORD, dumpPhases(timeoutSeconds, fullVerify));
}

/** Every object and patch an upgrade by dump applies, in order, for --dry-run: the table's plan. */
export function plannedDumpObjects(ctx: DumpCtx, timeoutSeconds: number, fullVerify: boolean): Planned[] {
  return phasePlan(dumpPhases(timeoutSeconds, fullVerify), ctx);
}
