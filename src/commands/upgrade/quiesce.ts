import type { StepTask } from '../../engine/phases.ts';
import { liveReach, readPassword } from '../../server/reach.ts';
import { fingerprintTotals } from '../../postgres/fingerprint.ts';
import { fingerprintVia, shapeVia } from '../../fingerprint/read.ts';
import { shapeTotals } from '../../postgres/shape.ts';
import { referenceSource, storeReference, type Reference } from '../../state/reference.ts';
import { scaleTo } from '../../steps/workload.ts';
import { rollbackOf, waitScaledDown } from '../../steps/still-down.ts';
import { done, st, timed, type UpgradeCtx, type UpgradeOptions, type InPlaceStep } from './ctx.ts';
import { refOf } from '../../postgres/workload.ts';
import { stoppedOf } from './stop-tasks.ts';
import { configMapStep, scaleStep } from './planned.ts';

/** How long an application took to stop, and why when it sat out its grace period (it ignored SIGTERM). */
export function stopNote(seconds: number, graceSeconds: number): string {
  const why =
    graceSeconds >= 2 && seconds >= graceSeconds * 0.9
      ? `: it did not stop on SIGTERM and was killed after its terminationGracePeriodSeconds (${graceSeconds} s)`
      : '';
  return `, stopped in ${seconds.toFixed(1)} s${why}`;
}

/** Stops the applications, then reads from the server they left its shape, and (without a snapshot) the reference. */
export function quiescePhases(opts: UpgradeOptions, timeout: number): Array<InPlaceStep> {
  return [
    {
      title: 'Scale the applications down',
      recorded: 'apps-down',
      step: (ctx) => scaleAppsDown(ctx, timeout),
      plan: (ctx) => st(ctx).apps.map((a) => scaleStep(ctx.d.namespace, a, 0, 'scale the application down')),
    },
    {
      title: 'Fingerprint the database now that the applications are down (--no-snapshot: no snapshot to read it from)',
      recorded: 'fingerprint',
      when: () => !opts.snapshot,
      step: (ctx, task) => fingerprintLive(ctx, task),
      plan: (ctx) =>
        opts.snapshot
          ? []
          : [
              configMapStep(
                ctx.d.namespace,
                ctx.names.fingerprint,
                'reference fingerprint, read from the server once the applications are down (--no-snapshot)',
              ),
            ],
    },
    {
      title: 'Read the shape of the data now that the applications are down: every relation and its size',
      when: (ctx) => !opts.fullVerify && !!ctx.d.pod?.ready,
      skip: (ctx) => done(ctx, 'db-down'),
      step: (ctx, task) => readShapeBefore(ctx, task),
    },
  ];
}

/** Scales the applications to 0 and waits for their pods to go, each with how long it took to stop. */
async function scaleAppsDown(ctx: UpgradeCtx, timeout: number): Promise<string> {
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
  const notes = new Map(took);
  const apps = st(ctx).apps;
  return apps.length
    ? apps.map((a) => `${refOf(a)} (${a.replicas} → 0${notes.get(a.name) ?? ''})`).join(', ')
    : 'none match the selector';
}

/** --no-snapshot: the reference fingerprint read from the server the applications left, and stored. */
async function fingerprintLive(ctx: UpgradeCtx, task: StepTask): Promise<void> {
  const fp = await timed(ctx, 'fingerprint', async () => {
    ctx.password ??= await readPassword(ctx.cluster, ctx.d);
    return fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
  });
  const ref: Reference = { fingerprint: fp, source: referenceSource(st(ctx)) };
  await storeReference(ctx.cluster, ctx.d.namespace, ctx.names.fingerprint, st(ctx), ref);
  ctx.reference = Promise.resolve(ref);
  const t = fingerprintTotals(fp);
  task.title = `Fingerprint the database: ${t.databases} databases, ${t.tables} tables, ${t.rows} rows; ConfigMap ${ctx.names.fingerprint}`;
}

/** The shape of the data once nothing writes; a failure only means the content is compared in full first. */
async function readShapeBefore(ctx: UpgradeCtx, task: StepTask): Promise<void> {
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
}
