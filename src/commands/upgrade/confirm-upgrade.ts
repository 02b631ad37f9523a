import { confirmOrStop } from '../../confirm.ts';
import type { Io } from '../../output.ts';
import type { UpgradeCtx } from './tasks.ts';
import type { UpgradeState } from '../../state/state.ts';
import { pauseLines } from './gitops.ts';
import { gitChangeOf } from './report.ts';

/** Argo CD and Flux revert an image patch made by hand; Helm does at its next upgrade. Say so before anything stops. */
export function gitopsWarning(managers: string[]): string[] {
  const gitops = managers.filter((m) => /^(Argo CD|Flux)/.test(m));
  const helm = managers.filter((m) => m.startsWith('Helm'));
  return [
    ...(gitops.length
      ? [
          `  WARNING      ${gitops.join(', ')} owns this workload and will revert the image patch: change the image in Git ` +
            `(--no-patch-workload prints the change), or pause its sync first`,
        ]
      : []),
    ...(helm.length
      ? [`  note         ${helm.join(', ')}: put the new image in your values too, or the next helm upgrade reverts it`]
      : []),
  ];
}

/** What the upgrade is about to do, then the user's yes (or --yes). */
export async function confirmUpgrade(ctx: UpgradeCtx, io: Io, assumeYes: boolean): Promise<void> {
  const s = ctx.state as UpgradeState;
  io.err(
    [
      '',
      `About to upgrade PostgreSQL in place (the database and its applications stop meanwhile):`,
      `  context      ${ctx.cluster.contextName}`,
      `  namespace    ${ctx.d.namespace}`,
      `  workload     ${s.workload.kind}/${s.workload.name} (container ${s.container})`,
      `  versions     ${s.fromVersion} → ${s.to}, pg_upgrade --${s.method}, Job image ${s.jobImage}`,
      `  image        ${s.oldImage} → ${s.targetImage || '(you change it: --no-patch-workload)'}`,
      ...(ctx.mode === 'offline'
        ? [
            `  database     stopped (0 replicas): it is started on PostgreSQL ${s.to} to verify the data, and left running (${s.workload.replicas} replica)`,
          ]
        : []),
      `  applications ${s.apps.length ? s.apps.map((a) => `${a.kind}/${a.name} (${a.replicas})`).join(', ') : 'none match the selector'}`,
      ...(ctx.d.clients.length
        ? [
            `  not the db   ${ctx.d.clients.map((c) => c.ref).join(', ')}: clients of the PostgreSQL image, left running`,
          ]
        : []),
      `  downtime     ${ctx.estimate ? `about ${ctx.estimate.seconds} s (${ctx.estimate.formula})` : 'unknown'}`,
      ...(ctx.leftRunning?.length
        ? [
            `  left running ${ctx.leftRunning.join(', ')}: connected now, matched by neither the selector nor --app; they may write ` +
              `until the database stops (the snapshot holds it), and fail meanwhile; stop them too with --app <kind>/<name>`,
          ]
        : []),
      ...gitopsWarning(ctx.d.managers),
      ...pauseLines(ctx, gitChangeOf(ctx)),
      ...(ctx.warnings ?? []).flatMap((w) => [
        `  WARN ${w.id.padEnd(7)} ${w.found}`,
        ...(w.fix ? [`               fix: ${w.fix}`] : []),
      ]),
      '',
    ].join('\n'),
  );
  await confirmOrStop(assumeYes, 'upgrade stops the database');
}
