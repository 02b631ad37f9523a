import { loadSettingsSql, putBackSql } from '../../../postgres/dump-plan.ts';
import { END_OTHER_SESSIONS_SQL, READ_ONLY_SQL } from '../../../postgres/source-sessions.ts';
import { dumpTargetSecret, serviceSelectorPatch } from '../../../manifests/dump-target.ts';
import { keepsSourceRunning } from '../../../postgres/dump-source.ts';
import type { ScaledWorkload } from '../../../state/state.ts';
import { dst, type DumpCtx } from './ctx.ts';
import { dumpReferenceName } from '../../../state/dump-state.ts';
import { gitopsSteps } from '../planned.ts';

/** Every object and patch an upgrade by dump applies, in order, for --dry-run. */
export function plannedDumpObjects(ctx: DumpCtx, fullVerify: boolean): object[] {
  const s = dst(ctx);
  const ns = ctx.d.namespace;
  const scale = (w: ScaledWorkload, replicas: number, step: string) => ({
    step,
    patch: { apiVersion: 'apps/v1', kind: w.kind, metadata: { name: w.name, namespace: ns }, spec: { replicas } },
  });
  const target = { kind: s.target.kind, name: s.target.name, replicas: 1 };
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
  const restart = [
    scale(target, 0, 'restart the new instance: stop'),
    scale(target, 1, 'restart the new instance: start'),
  ];
  return [
    { step: 'record of the upgrade, updated after each phase', object: cm(ctx.stateName) },
    ...(s.target.secret
      ? [
          {
            step: "the new instance's superuser Secret: the password read from the source's manifest (its value never shown)",
            object: dumpTargetSecret(ns, s.target.name, `${s.workload.kind}/${s.workload.name}`),
          },
        ]
      : []),
    ...(s.target.existing
      ? [
          {
            step: `none created: the existing ${s.target.kind} ${s.target.name} (--target, checked empty and of PostgreSQL ${s.to}) is loaded into`,
          },
        ]
      : [
          { step: "the new instance's volume", object: ctx.target.pvc },
          {
            step: "the new instance's own Service (the load's address; the applications keep theirs)",
            object: ctx.target.service,
          },
          { step: 'the new instance', object: ctx.target.workload },
        ]),
    { step: 'tune the new instance for the load (psql in its pod)', sql: loadSettingsSql(s.settings) },
    ...restart,
    ...gitopsSteps(ctx.pauseOwners ?? [], false),
    ...s.apps.map((a) => scale(a, 0, 'scale the application down')),
    {
      step: `make the source read-only and end every other session (psql in its pod; undone by --rollback)${ctx.leftRunning?.length ? `: ${ctx.leftRunning.join(', ')}` : ''}`,
      sql: `${READ_ONLY_SQL}\n${END_OTHER_SESSIONS_SQL}`,
    },
    {
      step: `pg_dumpall --globals-only, then per database pg_dump -Fc -Z 0 | pg_restore, streamed in the new instance's pod; passwords on stdin`,
    },
    {
      step: 'put the durable settings back as its own ALTER SYSTEM had them (read before the tuning; psql in the new pod), then sync there',
      sql: putBackSql(s.settings),
    },
    ...restart,
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
        metadata: { name: x.name, namespace: ns },
        ...serviceSelectorPatch(x.before, ctx.target.cutoverSelector, 5432),
      },
    })),
    ...s.apps.map((a) => scale(a, a.replicas, 'scale the application back up')),
    {
      step: "the source's fingerprint (nothing writes it now), compared with the held content",
      object: cm(dumpReferenceName(ctx.stateName)),
    },
    { step: 'vacuumdb --all --analyze-in-stages on the new instance, the applications running' },
    ...(s.cutover && !keepsSourceRunning(s)
      ? [scale(s.workload, 0, 'stop the old instance (kept, with its volume, for --rollback)')]
      : []),
    ...(s.cutover && keepsSourceRunning(s)
      ? [
          {
            step: 'the old instance is left running: it has no volume, so stopped its data would be gone (and --rollback with it)',
          },
        ]
      : []),
    ...gitopsSteps(ctx.pauseOwners ?? [], true),
  ];
}
