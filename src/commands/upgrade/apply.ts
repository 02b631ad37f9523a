import type { ListrTask } from 'listr2';
import { liveReach, readPassword } from '../../server/gather.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { buildUpgradeJob } from '../../manifests/upgrade-job.ts';
import { fingerprintTotals } from '../../postgres/fingerprint.ts';
import { upgradePaths } from '../../postgres/upgrade-script.ts';
import { createSnapshot, upgradeSnapshotClass, waitSnapshot } from '../../volume-snapshots/take.ts';
import { fingerprintVia, shapeVia } from '../../fingerprint/read.ts';
import { shapeTotals } from '../../postgres/shape.ts';
import { referenceSource, storeReference, type Reference } from '../../state/reference.ts';
import { isDone, type UpgradeState } from '../../state/state.ts';
import { describeStrategy } from '../../postgres/strategy.ts';
import { switchToRecreate } from '../../steps/strategy.ts';
import { runJob } from '../../steps/job.ts';
import { scaleTo, waitDetached } from '../../steps/workload.ts';
import {
  cameBackDuringJob,
  rollbackOf,
  stillDownProblem,
  waitScaledDown,
  watchStillDown,
  type Stopped,
} from '../../steps/still-down.ts';
import {
  IN_PLACE_PAUSE,
  record,
  st,
  startReference,
  timed,
  writeState,
  type UpgradeCtx,
  type UpgradeOptions,
} from './ctx.ts';
import { refOf } from '../../postgres/workload.ts';
import { createStartTasks } from './start.ts';
import { createVerifyTasks } from './verify.ts';
import { createPauseTask, createResumeTask } from './gitops.ts';

const done = (ctx: UpgradeCtx, p: Parameters<typeof isDone>[1]) => isDone(ctx.state, p) && 'done in an earlier run';

/** How long an application took to stop, and why when it sat out its grace period (it ignored SIGTERM). */
export function stopNote(seconds: number, graceSeconds: number): string {
  const why =
    graceSeconds >= 2 && seconds >= graceSeconds * 0.9
      ? `: it did not stop on SIGTERM and was killed after its terminationGracePeriodSeconds (${graceSeconds} s)`
      : '';
  return `, stopped in ${seconds.toFixed(1)} s${why}`;
}

/** Stops the applications, then reads from the server they left its shape, and (without a snapshot) the reference. */
function createQuiesceTasks(opts: UpgradeOptions, timeout: number): Array<ListrTask<UpgradeCtx>> {
  return [
    {
      title: 'Scale the applications down',
      skip: (ctx) => done(ctx, 'apps-down'),
      task: async (ctx, task) => {
        ctx.timings.downtime = Date.now();
        const took = await timed(ctx, 'apps-down', async () => {
          for (const a of st(ctx).apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, 0);
          return Promise.all(
            ctx.d.apps.map(async (a) => {
              const t = Date.now();
              await waitScaledDown(
                ctx.cluster,
                ctx.d.namespace,
                { kind: a.kind, name: a.metadata.name, selector: a.selector, matchExpressions: a.matchExpressions },
                `the pods of ${refOf({ kind: a.kind, name: a.metadata.name })}`,
                rollbackOf(stoppedOf(ctx)),
                timeout,
              );
              return [
                a.metadata.name,
                stopNote((Date.now() - t) / 1000, a.template.spec.terminationGracePeriodSeconds ?? 30),
              ] as const;
            }),
          );
        });
        await record(ctx, 'apps-down');
        const apps = st(ctx).apps;
        const notes = new Map(took);
        task.title = apps.length
          ? `Scale the applications down: ${apps.map((a) => `${refOf(a)} (${a.replicas} → 0${notes.get(a.name) ?? ''})`).join(', ')}`
          : 'Scale the applications down: none match the selector';
      },
    },
    {
      title: 'Fingerprint the database now that the applications are down (--no-snapshot: no snapshot to read it from)',
      enabled: () => !opts.snapshot,
      skip: (ctx) => done(ctx, 'fingerprint'),
      task: async (ctx, task) => {
        const fp = await timed(ctx, 'fingerprint', async () => {
          ctx.password ??= await readPassword(ctx.cluster, ctx.d);
          return fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
        });
        const ref: Reference = { fingerprint: fp, source: referenceSource(st(ctx)) };
        await storeReference(ctx.cluster, ctx.d.namespace, ctx.names.fingerprint, st(ctx), ref);
        ctx.reference = Promise.resolve(ref);
        await record(ctx, 'fingerprint');
        const t = fingerprintTotals(fp);
        task.title = `Fingerprint the database: ${t.databases} databases, ${t.tables} tables, ${t.rows} rows; ConfigMap ${ctx.names.fingerprint}`;
      },
    },
    {
      title: 'Read the shape of the data now that the applications are down: every relation and its size',
      enabled: (ctx) => !opts.fullVerify && !!ctx.d.pod?.ready,
      skip: (ctx) => done(ctx, 'db-down'),
      task: async (ctx, task) => {
        try {
          ctx.password ??= await readPassword(ctx.cluster, ctx.d);
          ctx.shapeBefore = await timed(ctx, 'shape-before', () =>
            shapeVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password as string),
          );
        } catch (err) {
          // Not a reason to stop: without it the content is compared in full before the applications return.
          task.title = `Read the shape of the data: failed (${(err as Error).message.split('\n')[0]}); the content will be compared before the applications return`;
          return;
        }
        const t = shapeTotals(ctx.shapeBefore);
        task.title = `Read the shape of the data: ${t.databases} databases, ${t.relations} relations and their sizes (${((ctx.timings['shape-before'] ?? 0) / 1000).toFixed(1)} s)`;
      },
    },
  ];
}

/** What the stop step says of a RollingUpdate Deployment's strategy, which it sets aside. */
const setAside = (s: UpgradeState) =>
  s.strategy ? `; strategy ${describeStrategy(s.strategy)} → Recreate until the new server is up` : '';

/** What the upgrade stops, for the checks that nothing else started it again. */
const stoppedOf = (ctx: UpgradeCtx): Stopped => ({
  namespace: ctx.d.namespace,
  workload: {
    ...st(ctx).workload,
    selector: ctx.d.workload.selector,
    matchExpressions: ctx.d.workload.matchExpressions,
  },
  apps: st(ctx).apps,
  claim: ctx.d.pvc.metadata.name,
});

/** The database down, its volume detached and snapshotted. */
function createStopTasks(opts: UpgradeOptions, timeout: number): Array<ListrTask<UpgradeCtx>> {
  return [
    {
      title: 'Stop the database and wait for its volume to detach',
      skip: (ctx) => done(ctx, 'db-down'),
      task: async (ctx, task) => {
        const t = Date.now();
        const aside = setAside(st(ctx));
        if (aside) task.title = `Stop the database and wait for its volume to detach${aside}`;
        await timed(ctx, 'db-down', async () => {
          await timed(ctx, 'db-shutdown', async () => {
            // Recreate first: no pod of another revision may start beside the stopped server on its volume.
            if (st(ctx).strategy) await switchToRecreate(ctx.cluster, ctx.d.namespace, st(ctx).workload.name);
            await scaleTo(ctx.cluster, ctx.d.namespace, st(ctx).workload, 0);
            await waitScaledDown(
              ctx.cluster,
              ctx.d.namespace,
              stoppedOf(ctx).workload,
              'the database pod',
              rollbackOf(stoppedOf(ctx)),
              timeout,
            );
          });
          const users = (await ctx.cluster.listPods(ctx.d.namespace)).filter(
            (p) =>
              p.phase !== 'Succeeded' &&
              p.phase !== 'Failed' &&
              (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === ctx.d.pvc.metadata.name),
          );
          if (users.length)
            throw new CliError(
              `other pods still mount PVC ${ctx.d.pvc.metadata.name}: ${users.map((p) => p.metadata.name).join(', ')}; stop them, then run the same command again to resume`,
              ExitCode.failed,
            );
          const pv = ctx.d.pvc.volumeName;
          if (pv) await timed(ctx, 'volume-detach', () => waitDetached(ctx.cluster, pv, timeout));
        });
        await record(ctx, 'db-down');
        task.title = `Stop the database and wait for its volume to detach: ${((Date.now() - t) / 1000).toFixed(1)} s${aside}`;
      },
    },
    {
      title: 'Snapshot the stopped volume',
      skip: (ctx) =>
        !opts.snapshot
          ? 'SKIPPED BY --no-snapshot: if the upgrade goes wrong after the new server starts, there is no way back'
          : done(ctx, 'snapshot'),
      task: async (ctx, task) => {
        const rec = await timed(ctx, 'snapshot', async () => {
          const cls = await upgradeSnapshotClass(ctx.cluster, ctx.d.csiDriver);
          if (!cls)
            throw new CliError(
              `no VolumeSnapshotClass for the PVC's driver ${ctx.d.csiDriver}: create one, or run with --no-snapshot (no way back after the new server starts)`,
              ExitCode.failed,
            );
          const s = st(ctx);
          // A run killed right after creating it recorded its name: the resumed run waits for that one.
          if (!s.snapshot) {
            const snap = await createSnapshot(ctx.cluster, {
              namespace: ctx.d.namespace,
              workloadKind: s.workload.kind,
              workloadName: s.workload.name,
              pvc: ctx.d.pvc.metadata.name,
              className: cls,
              pgVersion: s.fromVersion,
              pgMajor: s.from,
              takenAt: new Date(),
              consistency: 'stopped',
              reason: `before upgrade to ${s.to}`,
            });
            ctx.state = { ...s, snapshot: snap.metadata.name };
            await writeState(ctx);
          }
          return waitSnapshot(
            ctx.cluster,
            ctx.d.namespace,
            st(ctx).snapshot as string,
            opts.waitSnapshotReady ? 'ready' : 'cut',
            timeout,
          );
        });
        await record(ctx, 'snapshot');
        task.title = `Snapshot the stopped volume: ${rec.name} cut${rec.readyToUse ? ' and ready' : '; the reference fingerprint is read from it while the Job runs'}`;
      },
    },
  ];
}

/** The upgrade Job; `job-started` is recorded before it is created, as rollback must know it may have run. */
function createJobTask(opts: UpgradeOptions, timeout: number): ListrTask<UpgradeCtx> {
  return {
    title: 'Run the upgrade Job: initdb, pg_upgrade (its checks first), keep the configuration, swap the directories',
    skip: (ctx) => done(ctx, 'job'),
    task: async (ctx, task) => {
      // The reference is read from the snapshot on a copy: only a compare inside the downtime needs it by then.
      // Else it starts once the applications are back, so that it competes with nothing in the downtime.
      if (opts.fullVerify || !ctx.shapeBefore) startReference(ctx, 3600_000);
      // Nothing but the plugin may run on the volume once pg_upgrade starts: a controller that healed the scale-down stops the run here.
      const back = await stillDownProblem(ctx.cluster, stoppedOf(ctx));
      if (back) throw new CliError(back, ExitCode.failed);
      if (!isDone(ctx.state, 'job-started')) await record(ctx, 'job-started');
      const job = buildUpgradeJob(ctx.job);
      // And while it runs: the Job's hold keeps such a pod from the data, and the plugin names who started it.
      const watch = watchStillDown(ctx.cluster, stoppedOf(ctx));
      const out = await timed(ctx, 'job', () =>
        runJob(ctx.cluster, ctx.d.namespace, job, (t) => (task.output = t.trimEnd()), timeout),
      ).finally(() => watch.stop());
      const cameBack = await watch.stop();
      ctx.jobLog = out.log;
      ctx.timings['job-start'] = out.startMs;
      const took = /pgupgrade: pg_upgrade took (\d+) ms/.exec(out.log);
      if (took) ctx.timings.pg_upgrade = Number(took[1]);
      const checked = /pgupgrade: pg_upgrade --check took (\d+) ms/.exec(out.log);
      if (checked) ctx.timings['pg_upgrade-check'] = Number(checked[1]);
      if (!out.ok) {
        const ns = ctx.d.namespace;
        if (cameBack.length)
          throw new CliError(
            `${cameBackDuringJob(cameBack, stoppedOf(ctx), false)}\n${out.log.split('\n').slice(-40).join('\n')}`,
            ExitCode.failed,
          );
        throw new CliError(
          `the upgrade Job ${ns}/${job.metadata.name} failed (${out.reason ?? 'exit code above'}). Its log:\n${out.log.split('\n').slice(-60).join('\n')}\n` +
            `The old cluster is back where it was if the log above says "released the hold"; otherwise it may still be held aside (the Job was killed, or pg_upgrade passed its point of no return): rollback puts it back.\n` +
            `Undo: kubectl pgupgrade upgrade -n ${ns} ${refOf(st(ctx).workload)} --rollback\nRetry after fixing the cause: delete the Job ` +
            `(kubectl -n ${ns} delete job ${job.metadata.name}) and run the same upgrade command`,
          ExitCode.failed,
        );
      }
      await record(ctx, 'job');
      if (cameBack.length) throw new CliError(cameBackDuringJob(cameBack, stoppedOf(ctx), true), ExitCode.failed);
      task.title = `Run the upgrade Job ${job.metadata.name}: PostgreSQL ${st(ctx).to} is in place; the old cluster is kept as ${upgradePaths(ctx.job.pgdata, st(ctx).from, st(ctx).to).kept}`;
    },
    rendererOptions: { persistentOutput: false, outputBar: 8 } as never,
  };
}

/** The phases that change the cluster, each recorded; a resumed run skips what is done. */
export function createApplyTasks(opts: UpgradeOptions): Array<ListrTask<UpgradeCtx>> {
  const timeout = opts.timeoutSeconds * 1000;
  return [
    createPauseTask(IN_PLACE_PAUSE, (ctx) => ctx.names.state),
    ...createQuiesceTasks(opts, timeout),
    ...createStopTasks(opts, timeout),
    createJobTask(opts, timeout),
    ...createStartTasks(opts, timeout),
    ...createVerifyTasks(opts, timeout, [createResumeTask(IN_PLACE_PAUSE)]),
  ];
}
