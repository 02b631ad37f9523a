import { refOf } from '../../../postgres/workload.ts';
import { keepsSourceRunning } from '../../../postgres/dump-source.ts';
import { pauseLines } from '../gitops.ts';
import { dst, type DumpCtx } from './ctx.ts';
import { gitChangeOf } from './git-change.ts';

/** What an upgrade by dump is about to do, shown before the user confirms it. */
export function confirmText(c: DumpCtx): string {
  const s = dst(c);
  return [
    '',
    `About to upgrade PostgreSQL by dump and restore into ${s.target.existing ? 'an existing' : 'a new'} instance (the applications stop meanwhile; the old instance is only read):`,
    `  context      ${c.cluster.contextName}`,
    `  namespace    ${c.d.namespace}`,
    `  source       ${refOf(s.workload)} (PostgreSQL ${s.fromVersion})`,
    ...(s.target.existing
      ? [
          `  target       the existing ${s.target.kind} ${s.target.name} (--target, PostgreSQL ${c.existing?.version}, empty), ${s.target.image}, its own superuser ` +
            `${s.target.superuser} and Secret; never created, deleted or stopped by the plugin`,
          `  tuning       it is tuned for the load (ALTER SYSTEM, restarted by scaling its ${s.target.kind} 0 → 1), its settings put back afterwards (restarted again)`,
        ]
      : [
          `  new instance ${s.target.kind} ${s.target.name}, ${s.target.image}, PVC ${s.target.pvc}, superuser ${s.target.superuser}`,
        ]),
    ...(keepsSourceRunning(s)
      ? [
          `  old instance left running after the cutover: it has no volume (its data is in its container's writable layer)`,
        ]
      : []),
    ...(s.target.secret
      ? [`  new Secret   ${s.target.secret}: the superuser's password, read from the source's manifest (never shown)`]
      : []),
    ...pauseLines(c, gitChangeOf(c)),
    `  applications ${s.apps.length ? s.apps.map((a) => `${refOf(a)} (${a.replicas})`).join(', ') : 'none match the selector'}`,
    ...(c.leftRunning?.length
      ? [
          `  other clients ${c.leftRunning.join(', ')}: connected now, matched by neither the selector nor --app. Once the applications are down ` +
            `the source is made read-only and their sessions are ended: their writes fail until the cutover (or --rollback); stop them too with --app <kind>/<name>`,
        ]
      : []),
    `  cutover      ${s.cutover ? `Service ${s.services.map((x) => x.name).join(', ') || '(none leads to the source)'} → the new pods` : 'none (--no-cutover): printed for you'}`,
    ...(c.warnings ?? []).flatMap((w) => [
      `  WARN ${w.id.padEnd(7)} ${w.found}`,
      ...(w.fix ? [`               fix: ${w.fix}`] : []),
    ]),
    '',
  ].join('\n');
}
