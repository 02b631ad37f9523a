import { Listr } from 'listr2';
import type { CommandContext } from '../../../context.ts';
import { confirmOrStop } from '../../../confirm.ts';
import { blockingError, usageError } from '../../../exit-codes.ts';
import { onInterrupt } from '../../../interrupt.ts';
import { printReport, type Io } from '../../../output.ts';
import { refOf } from '../../../postgres/workload.ts';
import { chooseRenderer, detectRendererEnv, type OutputFormat } from '../../../renderer.ts';
import { holdingLock, lockRecord } from '../../../state/lock.ts';
import { createValidateTasks } from '../../../validation/tasks.ts';
import { checksText, summaryLine, validateNow } from '../../../validation/report.ts';
import { createDumpApplyTasks } from './apply.ts';
import { pauseLines } from '../gitops.ts';
import { gitopsOwners, ownerKey } from '../../../postgres/gitops-pause.ts';
import { dumpGitChange, rollbackResumeNote } from '../../../postgres/gitops-git-change.ts';
import { managersOfAll } from '../../../postgres/gitops.ts';
import { stoppedNotes, withStoppedNotes } from './stopped.ts';
import { dst, type DumpCtx, type DumpOptions } from './ctx.ts';
import { dumpSourceNotes, keepsSourceRunning, SUPERUSER_SECRET_KEY } from '../../../postgres/dump-source.ts';
import { cutoverCommand } from './cutover.ts';
import { createDumpPlanTasks } from './plan.ts';
import { plannedDumpObjects } from './planned.ts';
import { createDumpRollbackFindTasks, createDumpRollbackTasks, type DumpRollbackOptions } from './rollback.ts';

const listOptions = (ctx: CommandContext) => {
  const renderer = chooseRenderer(detectRendererEnv(ctx.flags));
  return {
    renderer,
    fallbackRenderer: 'simple' as const,
    exitOnError: true,
    collectErrors: false as const,
    registerSignalListeners: false,
  };
};

/** After a cutover, the change to make in Git for the Argo CD/Flux objects that manage the source, or undefined. */
function gitChangeOf(c: DumpCtx): string | undefined {
  const s = dst(c);
  return s.cutover
    ? dumpGitChange(gitopsOwners(managersOfAll([c.d.workload, ...(c.cutoverServices ?? [])]), c.d.namespace), {
        source: `${s.workload.kind}/${s.workload.name}`,
        sourceStopped: !keepsSourceRunning(s),
        target: `${s.target.kind.toLowerCase()}/${s.target.name}`,
        services: s.services.map((x) => x.name),
      })
    : undefined;
}

function confirmText(c: DumpCtx): string {
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

/** `upgrade --method dump`: plan (read-only), confirm, then the recorded phases. */
export async function runDumpUpgrade(
  ctx: CommandContext,
  opts: DumpOptions & { dryRun: boolean; output: OutputFormat },
  io: Io,
): Promise<void> {
  const listOpts = listOptions(ctx);
  const c = {} as DumpCtx;
  try {
    await new Listr<DumpCtx, typeof listOpts.renderer, 'simple'>(
      createDumpPlanTasks(() => ctx.cluster(), opts),
      listOpts,
    ).run(c);
  } finally {
    await c.probe?.dispose();
  }
  if (c.nothingToDo) return io.err(c.nothingToDo);
  if (opts.dryRun) {
    if (c.resuming)
      throw usageError(
        `an upgrade by dump is under way (last phase "${dst(c).phase}"); --dry-run plans only a new one`,
      );
    const { dump } = await import('js-yaml');
    io.out(
      plannedDumpObjects(c, opts.fullVerify)
        .map((o) => dump(JSON.parse(JSON.stringify(o)), { noRefs: true, lineWidth: 120 }))
        .join('---\n'),
    );
    return;
  }
  if (!c.resuming) {
    io.err(confirmText(c));
    await confirmOrStop(ctx.flags.yes === true, 'upgrade stops the applications');
  }
  const ref = refOf(dst(c).workload);
  if (c.resuming) for (const n of stoppedNotes(c)) io.err(`Resuming. ${n}`);
  onInterrupt(async () =>
    io.err(
      [
        `The upgrade is recorded in ConfigMap ${c.stateName}. Resume: kubectl pgupgrade upgrade -n ${c.d.namespace} ${ref} ` +
          `--to ${opts.to} --method dump; or undo: kubectl pgupgrade upgrade -n ${c.d.namespace} ${ref} --rollback`,
        ...stoppedNotes(c),
      ].join('\n'),
    ),
  );
  c.lock = await lockRecord(c.cluster, c.d.namespace, c.stateName, ref, c.stateVersion);
  await holdingLock(
    c.lock,
    (m) => io.err(m),
    () =>
      new Listr<DumpCtx, typeof listOpts.renderer, 'simple'>(
        createDumpApplyTasks(opts.timeoutSeconds, opts.fullVerify),
        listOpts,
      ).run(c),
  ).catch((err: unknown) => {
    throw withStoppedNotes(err, stoppedNotes(c));
  });
  const s = dst(c);
  // Like the in-place upgrade, it ends with validate's checks (on the new instance); a pass is recorded for cleanup.
  const vopts = {
    workload: ref,
    analyze: false,
    updateExtensions: false,
    reindexCollations: false,
    amcheck: false,
    dataComparedBy: "compared by this upgrade: the new instance's fingerprint equals the source's",
    superuserSecret: opts.superuserSecret,
  };
  const validation = await validateNow(
    createValidateTasks(async () => c.cluster, vopts),
    listOpts,
    vopts,
  );
  const why = dumpSourceNotes({
    source: ref,
    sourcePvc: s.pvc,
    targetPvc: s.target.pvc,
    cutover: s.cutover,
    inlinePassword: c.d.superuser?.literal ? c.d.superuser.env : undefined,
    createdSecret: s.target.secret ? { name: s.target.secret, key: SUPERUSER_SECRET_KEY } : undefined,
  });
  const report = {
    workload: ref,
    namespace: c.d.namespace,
    from: s.fromVersion,
    to: s.to,
    method: 'dump',
    phase: s.phase,
    newInstance: `${s.target.kind}/${s.target.name}`,
    existingTarget: s.target.existing === true,
    pvc: s.target.pvc,
    secret: s.target.secret ?? null,
    sourcePvc: s.pvc || null,
    sourceLeftRunning: s.cutover && keepsSourceRunning(s),
    whyItMatters: why,
    services: s.services.map((x) => x.name),
    cutover: s.cutover,
    fingerprint: { equal: (c.fingerprintDiff ?? []).length === 0 },
    verification: c.verification ?? null,
    notes: c.globalsNotes,
    leftRunning: c.leftRunning ?? [],
    timingsMs: c.timings,
    validation: { checks: validation.checks, summary: validation.summary },
    gitChange: gitChangeOf(c) ?? null,
  };
  await printReport(io, opts.output, report, (r) =>
    [
      `${r.workload} in ${r.namespace} (PostgreSQL ${r.from}) was dumped and restored into ${r.newInstance} (PostgreSQL ${r.to}); the fingerprints are equal.`,
      s.cutover
        ? `Cut over: Service ${r.services.join(', ') || '(none)'} now leads to the new instance; the old one is ` +
          `${keepsSourceRunning(s) ? 'left running (it has no volume)' : `scaled to 0 and kept with PVC ${s.pvc}`} (undo: kubectl pgupgrade upgrade -n ${r.namespace} ${ref} --rollback).`
        : `Not cut over (--no-cutover): the applications still use the old instance. Point them at the new one:\n  ` +
          (s.services
            .map((x) => cutoverCommand(r.namespace, x.name, x.before, c.target.cutoverSelector))
            .join('\n  ') || `connect them to Service ${s.target.service}`),
      r.verification ? `Verified: ${r.verification}.` : '',
      r.gitChange ?? '',
      s.ownersResumedAt ? `Resumed as they were: ${(s.pausedOwners ?? []).map(ownerKey).join(', ')}.` : '',
      r.timingsMs.downtime
        ? `Downtime (applications down → ready again): ${(r.timingsMs.downtime / 1000).toFixed(1)} s.`
        : '',
      ...r.whyItMatters.map((n) => `Why it matters: ${n}.`),
      ...r.notes.map((n) => `Note: ${n}.`),
      `\nvalidate's checks:\n${checksText(r.validation.checks).join('\n')}\n${summaryLine(validation)}`,
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

/** `upgrade --rollback` after an upgrade by dump; false when the workload has no dump record (the in-place rollback's turn). */
export async function runDumpRollback(ctx: CommandContext, opts: DumpRollbackOptions, io: Io): Promise<boolean> {
  const listOpts = listOptions(ctx);
  const c = {} as DumpCtx;
  await new Listr<DumpCtx, typeof listOpts.renderer, 'simple'>(
    createDumpRollbackFindTasks(() => ctx.cluster(), opts),
    listOpts,
  ).run(c);
  if (!c.state) return false;
  const s = dst(c);
  const resumes = rollbackResumeNote(s.pausedOwners, s.ownersResumedAt);
  io.err(
    `\nAbout to roll ${refOf(s.workload)} in ${c.d.namespace} (context ${c.cluster.contextName}) back to its old instance (PostgreSQL ${s.fromVersion}): ` +
      `the Services back to it, the applications restarted on it. Anything written to the new instance ${s.target.name} since the cutover is lost ` +
      (s.target.existing
        ? `to them (the existing ${s.target.kind} ${s.target.name} named by --target is left running, the loaded data in it, its settings as they were).\n`
        : `(the new instance is stopped and kept, with PVC ${s.target.pvc}).\n`) +
      (resumes ? `${resumes}\n` : ''),
  );
  await confirmOrStop(ctx.flags.yes === true, 'rollback stops the applications');
  c.lock = await lockRecord(c.cluster, c.d.namespace, c.stateName, refOf(s.workload), c.stateVersion);
  await holdingLock(
    c.lock,
    (m) => io.err(m),
    () => new Listr<DumpCtx, typeof listOpts.renderer, 'simple'>(createDumpRollbackTasks(opts), listOpts).run(c),
  );
  io.out(
    `${refOf(s.workload)} in ${c.d.namespace} serves again on PostgreSQL ${s.fromVersion}; its fingerprint is equal to the one taken by the upgrade.`,
  );
  return true;
}
