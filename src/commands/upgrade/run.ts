import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { confirmOrStop } from '../../confirm.ts';
import { blockingError, usageError } from '../../exit-codes.ts';
import { stopBumped } from './bumped.ts';
import { onInterrupt } from '../../interrupt.ts';
import { printReport, type Io } from '../../output.ts';
import { upgradePaths } from '../../postgres/upgrade-script.ts';
import { chooseRenderer, detectRendererEnv, type OutputFormat } from '../../renderer.ts';
import { createApplyTasks, createPlanTasks, type UpgradeCtx, type UpgradeOptions } from './tasks.ts';
import { manualPatchAdvice, plannedObjects } from './planned.ts';
import { isDone, type UpgradeState } from '../../state/state.ts';
import { helmImageValues, refOf } from '../../postgres/workload.ts';
import { holdingLock, lockRecord } from '../../state/lock.ts';
import { createValidateTasks } from '../../validation/tasks.ts';
import { checksText, summaryLine, validateNow, type ValidateReport } from '../../validation/report.ts';
import type { ValidateFinding } from '../../postgres/validate.ts';
import { createRollbackTasks, type RollbackCtx, type RollbackOptions } from './rollback.ts';
import { pauseLines } from './gitops.ts';
import { gitopsOwners } from '../../postgres/gitops-pause.ts';
import { gitChange, rollbackResumeNote } from '../../postgres/gitops-git-change.ts';
import { managersOfAll } from '../../postgres/gitops.ts';
import { skippedText, type SkippedExtension } from '../../postgres/extension-guard.ts';

/** What `upgrade -o json` prints at the end. */
export interface UpgradeReport {
  workload: string;
  namespace: string;
  from: string;
  to: number;
  method: string;
  phase: string;
  snapshot: string | null;
  oldClusterKeptAt: string;
  fingerprint: {
    equal: boolean;
    databases: number;
    tables: number;
    rows: number;
    perDatabase: Array<{ database: string; tables: number; rowsBefore: number; rowsAfter: number }>;
  } | null;
  /** How the data was verified: its shape before the applications returned and its content while they started, or all before. */
  verification: string | null;
  /** Connected pods that no application scaling stopped (neither the selector nor --app), named before anything stopped. */
  leftRunning: string[];
  /** Milliseconds per phase; downtime is from scaling the applications down to their being ready again. */
  timingsMs: Record<string, number>;
  /** Extension updates that update_extensions.sql asked for, left undone: non-superusers can write their schemas. */
  extensionsSkipped: SkippedExtension[];
  /** validate's checks, run at the end (the data check is the verify step's). */
  validation: { checks: ValidateFinding[]; summary: ValidateReport['summary'] } | null;
}

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

/** On Ctrl-C once something stopped: the paused GitOps objects stay paused until the resumed run or the rollback puts them back. */
const pausedNote = (c: UpgradeCtx): string => {
  const p = c.state?.pausedOwners ?? [];
  return p.length && !c.state?.ownersResumedAt && isDone(c.state, 'apps-down')
    ? `\nPaused by this upgrade, left paused while the database is down: ` +
        `${p.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(', ')}; the resumed run or the rollback puts them back as they were`
    : '';
};

/** The change to make in Git for the Argo CD/Flux objects that manage the database itself (its applications' owners have nothing to change). */
function gitChangeOf(c: UpgradeCtx): string | undefined {
  const s = c.state as UpgradeState;
  return gitChange(
    gitopsOwners(managersOfAll([c.d.workload]), c.d.namespace),
    `${s.workload.kind}/${s.workload.name}`,
    s.targetImage,
    { container: s.container, relayout: s.relayout },
  );
}

async function confirm(ctx: UpgradeCtx, io: Io, assumeYes: boolean): Promise<void> {
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

function fingerprintTable(
  rows: Array<{ database: string; tables: number; rowsBefore: number; rowsAfter: number }>,
): string {
  const lines = [
    ['database', 'tables', `rows before`, 'rows after'],
    ...rows.map((r) => [r.database, String(r.tables), String(r.rowsBefore), String(r.rowsAfter)]),
  ];
  const w = lines[0]!.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines
    .map((l) => `  ${l.map((c, i) => (i === 0 ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0))).join('  ')}`)
    .join('\n');
}

/** `upgrade --rollback`: back to the old major, by the directories or from the snapshot, then verified. */
export async function runRollback(ctx: CommandContext, opts: RollbackOptions, io: Io): Promise<void> {
  const renderer = chooseRenderer(detectRendererEnv(ctx.flags));
  const listOpts = {
    renderer,
    fallbackRenderer: 'simple' as const,
    exitOnError: true,
    collectErrors: false as const,
    registerSignalListeners: false,
  };
  const tasks = createRollbackTasks(() => ctx.cluster(), opts);
  const c = {} as RollbackCtx;
  // The first two tasks only read: they find the record and the way back, which the user confirms.
  await new Listr<RollbackCtx, typeof renderer, 'simple'>(tasks.slice(0, 2), listOpts).run(c);
  const resumes = rollbackResumeNote(c.state.pausedOwners, c.state.ownersResumedAt);
  io.err(
    `\nAbout to roll ${c.state.workload.kind}/${c.state.workload.name} in ${c.d.namespace} (context ${c.cluster.contextName}) back to PostgreSQL ` +
      `${c.state.fromVersion}, ${c.via === 'snapshot' ? `restoring its PVC from snapshot ${c.state.snapshot}: anything written since the snapshot is lost` : 'putting the old directories back'}.\n` +
      (resumes ? `${resumes}\n` : ''),
  );
  await confirmOrStop(ctx.flags.yes === true, 'rollback stops the database');
  await holdingLock(
    await lockRecord(
      c.cluster,
      c.d.namespace,
      c.names.state,
      `${c.state.workload.kind}/${c.state.workload.name}`,
      c.stateVersion,
    ),
    (m) => io.err(m),
    () => new Listr<RollbackCtx, typeof renderer, 'simple'>(tasks.slice(2), listOpts).run(c),
  );
  io.out(
    `${c.state.workload.kind}/${c.state.workload.name} in ${c.d.namespace} runs PostgreSQL ${c.state.fromVersion} again (${c.via === 'snapshot' ? `restored from ${c.state.snapshot}` : 'directories put back'}); the fingerprint is equal.`,
  );
}

/** `upgrade`: plan (read-only), confirm, then the recorded phases. */
export async function runUpgrade(
  ctx: CommandContext,
  opts: UpgradeOptions & { dryRun: boolean; output: OutputFormat },
  io: Io,
): Promise<void> {
  const renderer = chooseRenderer(detectRendererEnv(ctx.flags));
  const listOpts = {
    renderer,
    fallbackRenderer: 'simple' as const,
    exitOnError: true,
    collectErrors: false as const,
    registerSignalListeners: false,
  };
  const c = {} as UpgradeCtx;
  try {
    await new Listr<UpgradeCtx, typeof renderer, 'simple'>(
      createPlanTasks(() => ctx.cluster(), opts),
      listOpts,
    ).run(c);
  } finally {
    await c.probe?.dispose();
  }
  if (c.nothingToDo) {
    io.err(c.nothingToDo);
    return;
  }
  if (c.bumped && !c.resuming) await stopBumped(ctx, c, opts, io, listOpts);
  if (opts.dryRun) {
    if (c.resuming)
      throw usageError(`an upgrade is under way (last phase "${c.state?.phase}"); --dry-run plans only a new one`);
    const { dump } = await import('js-yaml');
    io.out(
      plannedObjects(c, opts)
        .map((o) => dump(o, { noRefs: true, lineWidth: 120 }))
        .join('---\n'),
    );
    return;
  }
  if (!c.resuming) await confirm(c, io, ctx.flags.yes === true);
  const ref = refOf({ kind: c.d.workload.kind, name: c.d.workload.metadata.name });
  // Nothing is undone on Ctrl-C: every phase is recorded, and the Job goes on by itself. Say how to go on.
  onInterrupt(async () =>
    io.err(
      `The upgrade is recorded in ConfigMap ${c.names.state}. Resume: kubectl pgupgrade upgrade -n ${c.d.namespace} ${ref} ` +
        `--to ${opts.to} --method ${opts.method}; or undo: kubectl pgupgrade upgrade -n ${c.d.namespace} ${ref} --rollback` +
        pausedNote(c),
    ),
  );
  c.lock = await lockRecord(
    c.cluster,
    c.d.namespace,
    c.names.state,
    `${c.d.workload.kind}/${c.d.workload.metadata.name}`,
    c.stateVersion,
  );
  await holdingLock(
    c.lock,
    (m) => io.err(m),
    () => new Listr<UpgradeCtx, typeof renderer, 'simple'>(createApplyTasks(opts), listOpts).run(c),
  );
  const s = c.state as UpgradeState;
  if (c.stoppedForManualPatch) {
    const values = helmImageValues(c.d.workload, s.targetImage);
    io.err(
      [
        manualPatchAdvice(s, c.d.namespace),
        ...(values ? [values] : []),
        ...gitopsWarning(c.d.managers).map((l) => l.trim()),
        ...(s.pausedOwners?.length
          ? [
              `Left paused until the resumed run ends (then put back as they were): ${s.pausedOwners.map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(', ')}`,
            ]
          : []),
      ].join('\n'),
    );
    return;
  }
  // The upgrade ends with validate's checks; a pass is recorded for cleanup as validate records it.
  const vopts = {
    workload: refOf(s.workload),
    analyze: false,
    updateExtensions: false,
    reindexCollations: false,
    amcheck: false,
    dataComparedBy: `compared by this upgrade: ${c.verification ?? 'see above'}`,
    superuserSecret: opts.superuserSecret,
  };
  const validation = await validateNow(
    createValidateTasks(async () => c.cluster, vopts),
    listOpts,
    vopts,
  );
  const timings = Object.fromEntries(
    Object.entries(c.timings).filter(([, v]) => typeof v === 'number' && v < 1e12),
  ) as Record<string, number>;
  const report: UpgradeReport = {
    workload: `${s.workload.kind}/${s.workload.name}`,
    namespace: c.d.namespace,
    from: s.fromVersion,
    to: s.to,
    method: s.method,
    phase: s.phase,
    snapshot: s.snapshot,
    oldClusterKeptAt: upgradePaths(c.job.pgdata, s.from, s.to).kept,
    fingerprint: c.totals
      ? { equal: (c.fingerprintDiff ?? []).length === 0, ...c.totals, perDatabase: c.perDatabase ?? [] }
      : null,
    verification: c.verification ?? null,
    leftRunning: c.leftRunning ?? [],
    timingsMs: timings,
    extensionsSkipped: c.extensionsSkipped ?? [],
    validation: { checks: validation.checks, summary: validation.summary },
  };
  const helmValues = helmImageValues(c.d.workload, s.targetImage);
  const inGit = gitChangeOf(c);
  await printReport(
    io,
    opts.output,
    { ...report, ...(helmValues ? { helmValues } : {}), ...(inGit ? { gitChange: inGit } : {}) },
    (r) =>
      [
        `${r.workload} in ${r.namespace} runs PostgreSQL ${r.to} (was ${r.from}), by pg_upgrade --${r.method}.`,
        r.fingerprint
          ? `Fingerprint: equal before and after (${r.fingerprint.databases} databases, ${r.fingerprint.tables} tables, ${r.fingerprint.rows} rows; ` +
            `row counts and content checksums per table, sequences, extensions, views, functions, indexes, large objects, roles):\n` +
            fingerprintTable(r.fingerprint.perDatabase)
          : '',
        r.snapshot ? `Snapshot taken before the upgrade: ${r.snapshot}.` : 'No snapshot was taken (--no-snapshot).',
        `The old cluster is kept on the volume as ${r.oldClusterKeptAt} (in link mode it shares files with the new one; it blocks the next upgrade): ` +
          `remove it once you are sure, e.g. kubectl -n ${r.namespace} exec <database pod> -- rm -rf ${r.oldClusterKeptAt}`,
        helmValues
          ? `Helm manages this workload: put the new image in its values, or the next helm upgrade puts the old one back:\n${helmValues}`
          : '',
        inGit ?? '',
        s.ownersResumedAt
          ? `Resumed as they were: ${(s.pausedOwners ?? []).map((o) => `${o.kind} ${o.namespace}/${o.name}`).join(', ')}.`
          : '',
        timings.downtime
          ? `Downtime (applications down → ready again): ${(timings.downtime / 1000).toFixed(1)} s.`
          : '',
        r.verification ? `Verified: ${r.verification}.` : '',
        r.leftRunning.length
          ? `Left running (connected before the upgrade, not scaled): ${r.leftRunning.join(', ')}.`
          : '',
        ...r.extensionsSkipped.map((x) => `WARNING ${skippedText(x)}`),
        r.validation
          ? `\nvalidate's checks:\n${checksText(r.validation.checks).join('\n')}\n${summaryLine(validation)}`
          : '',
      ]
        .filter(Boolean)
        .join('\n'),
  );
  if (validation.summary.fail) {
    throw blockingError(
      `the upgrade is done, but validate's checks found ${validation.summary.fail} problem${validation.summary.fail > 1 ? 's' : ''} (above), each with its fix`,
    );
  }
}
