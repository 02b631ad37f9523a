// What each phase of the upgrade by dump lists in the dry run (its table, apply.ts and cutover.ts, names them).
import { loadSettingsSql, putBackSql, shouldRestartAfterLoad } from '../../../postgres/dump-plan.ts';
import { END_OTHER_SESSIONS_SQL, READ_ONLY_SQL } from '../../../postgres/source-sessions.ts';
import { dumpTargetSecret } from '../../../manifests/dump-target.ts';
import { serviceSelectorPatch } from '../../../manifests/service-cutover.ts';
import { keepsSourceRunning } from '../../../postgres/dump-source.ts';
import type { Planned } from '../../../engine/phases.ts';
import { dst, type DumpCtx } from './ctx.ts';
import { dumpReferenceName } from '../../../state/dump-state.ts';
import { configMapStep, scaleStep } from '../planned.ts';

/** The new instance stopped and started again (a setting that needs a restart). */
const restartSteps = (ctx: DumpCtx): Planned[] => {
  const target = { kind: dst(ctx).target.kind, name: dst(ctx).target.name, replicas: 1 };
  return [
    scaleStep(ctx.d.namespace, target, 0, 'restart the new instance: stop'),
    scaleStep(ctx.d.namespace, target, 1, 'restart the new instance: start'),
  ];
};

export const planRecord = (ctx: DumpCtx): Planned[] => [
  configMapStep(ctx.d.namespace, ctx.stateName, 'record of the upgrade, updated after each phase'),
];

/** The new instance's objects, or none when an existing one is loaded into. */
export function planTarget(ctx: DumpCtx): Planned[] {
  const s = dst(ctx);
  const secret = s.target.secret
    ? [
        {
          step: "the new instance's superuser Secret: the password read from the source's manifest (its value never shown)",
          object: dumpTargetSecret(ctx.d.namespace, s.target.name, `${s.workload.kind}/${s.workload.name}`),
        },
      ]
    : [];
  if (s.target.existing)
    return [
      ...secret,
      {
        step: `none created: the existing ${s.target.kind} ${s.target.name} (--target, checked empty and of PostgreSQL ${s.to}) is loaded into`,
      },
    ];
  return [
    ...secret,
    { step: "the new instance's volume", object: ctx.target.pvc },
    {
      step: "the new instance's own Service (the load's address; the applications keep theirs)",
      object: ctx.target.service,
    },
    { step: 'the new instance', object: ctx.target.workload },
  ];
}

export const planTuning = (ctx: DumpCtx): Planned[] => [
  { step: 'tune the new instance for the load (psql in its pod)', sql: loadSettingsSql(dst(ctx).settings) },
  ...restartSteps(ctx),
];

export const planAppsDown = (ctx: DumpCtx): Planned[] =>
  dst(ctx).apps.map((a) => scaleStep(ctx.d.namespace, a, 0, 'scale the application down'));

export const planReadOnly = (ctx: DumpCtx): Planned[] => [
  {
    step: `make the source read-only and end every other session (psql in its pod; undone by --rollback)${ctx.leftRunning?.length ? `: ${ctx.leftRunning.join(', ')}` : ''}`,
    sql: `${READ_ONLY_SQL}\n${END_OTHER_SESSIONS_SQL}`,
  },
];

export const planLoad = (): Planned[] => [
  {
    step: `pg_dumpall --globals-only, then per database pg_dump -Fc -Z 0 | pg_restore, streamed in the new instance's pod; passwords on stdin`,
  },
];

export const planSettingsBack = (ctx: DumpCtx): Planned[] => [
  {
    step: 'put the durable settings back as its own ALTER SYSTEM had them (read before the tuning; psql in the new pod), then sync there',
    sql: putBackSql(dst(ctx).settings),
  },
  ...(shouldRestartAfterLoad(dst(ctx).settings) ? restartSteps(ctx) : []),
];

/** The held snapshot (or the full compare), then each Service pointed at the new pods. */
export function planCutover(ctx: DumpCtx, fullVerify: boolean): Planned[] {
  const s = dst(ctx);
  return [
    {
      step: fullVerify
        ? "compare the new instance's whole content with the source's fingerprint (--full-verify)"
        : 'hold a REPEATABLE READ snapshot of every database of the new instance (its content is compared once the applications are back)',
    },
    ...s.services.map((x) => ({
      step: s.cutover
        ? 'cutover: point the Service at the new pods (JSON merge patch)'
        : '--no-cutover: printed, not applied',
      patch: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: x.name, namespace: ctx.d.namespace },
        ...serviceSelectorPatch(x.before, ctx.target.cutoverSelector, 5432),
      },
    })),
  ];
}

export const planAppsUp = (ctx: DumpCtx): Planned[] =>
  dst(ctx).apps.map((a) => scaleStep(ctx.d.namespace, a, a.replicas, 'scale the application back up'));

export const planVerified = (ctx: DumpCtx): Planned[] => [
  configMapStep(
    ctx.d.namespace,
    dumpReferenceName(ctx.stateName),
    "the source's fingerprint (nothing writes it now), compared with the held content",
  ),
];

export const planAnalyze = (): Planned[] => [
  { step: 'vacuumdb --all --analyze-in-stages on the new instance, the applications running' },
];

export function planSourceDown(ctx: DumpCtx): Planned[] {
  const s = dst(ctx);
  if (!s.cutover) return [];
  if (keepsSourceRunning(s))
    return [
      {
        step: 'the old instance is left running: it has no volume, so stopped its data would be gone (and --rollback with it)',
      },
    ];
  return [scaleStep(ctx.d.namespace, s.workload, 0, 'stop the old instance (kept, with its volume, for --rollback)')];
}
