import type { ListrBaseClassOptions } from 'listr2';
import { blockingError } from '../../exit-codes.ts';
import { printReport, type Io } from '../../output.ts';
import { upgradePaths } from '../../postgres/upgrade-script.ts';
import type { OutputFormat, RendererName } from '../../renderer.ts';
import type { UpgradeCtx, UpgradeOptions } from './tasks.ts';
import type { UpgradeState } from '../../state/state.ts';
import { helmImageValues, refOf } from '../../postgres/workload.ts';
import { createValidateTasks } from '../../validation/tasks.ts';
import { checksText, summaryLine, validateNow, type ValidateReport } from '../../validation/report.ts';
import type { ValidateCtx } from '../../validation/ctx.ts';
import type { ValidateFinding } from '../../postgres/validate.ts';
import { gitopsOwners } from '../../postgres/gitops-pause.ts';
import { gitChange } from '../../postgres/gitops-git-change.ts';
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

/** The change to make in Git for the Argo CD/Flux objects that manage the database itself (its applications' owners have nothing to change). */
export function gitChangeOf(c: UpgradeCtx): string | undefined {
  const s = c.state as UpgradeState;
  return gitChange(
    gitopsOwners(managersOfAll([c.d.workload]), c.d.namespace),
    `${s.workload.kind}/${s.workload.name}`,
    s.targetImage,
    { container: s.container, relayout: s.relayout },
  );
}

/** The per-database row counts before and after, as an aligned table. */
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

/** The end of an upgrade: validate's checks, then the report; a failed check fails the run, the upgrade done. */
export async function reportUpgrade(
  c: UpgradeCtx,
  opts: UpgradeOptions & { output: OutputFormat },
  io: Io,
  listOpts: ListrBaseClassOptions<ValidateCtx, RendererName, 'simple'>,
): Promise<void> {
  const s = c.state as UpgradeState;
  const validation = await validateAtEnd(c, opts, listOpts);
  const { report, timings } = upgradeReportOf(c, validation);
  const helmValues = helmImageValues(c.d.workload, s.targetImage);
  const inGit = gitChangeOf(c);
  await printReport(
    io,
    opts.output,
    { ...report, ...(helmValues ? { helmValues } : {}), ...(inGit ? { gitChange: inGit } : {}) },
    (r) => upgradeReportText(r, s, { timings, helmValues, inGit, validation }),
  );
  if (validation.summary.fail) {
    throw blockingError(
      `the upgrade is done, but validate's checks found ${validation.summary.fail} problem${validation.summary.fail > 1 ? 's' : ''} (above), each with its fix`,
    );
  }
}

/** validate's checks on the upgraded database, the data already compared by the upgrade. */
function validateAtEnd(
  c: UpgradeCtx,
  opts: UpgradeOptions,
  listOpts: ListrBaseClassOptions<ValidateCtx, RendererName, 'simple'>,
): Promise<ValidateReport> {
  const s = c.state as UpgradeState;
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
  return validateNow(
    createValidateTasks(async () => c.cluster, vopts),
    listOpts,
    vopts,
  );
}

/** The report of a done upgrade, and its timings of real durations. */
function upgradeReportOf(c: UpgradeCtx, validation: ValidateReport) {
  const s = c.state as UpgradeState;
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
  return { report, timings };
}

/** The text report of a done upgrade. */
function upgradeReportText(
  r: UpgradeReport,
  s: UpgradeState,
  x: { timings: Record<string, number>; helmValues?: string; inGit?: string; validation: ValidateReport },
): string {
  const { timings, helmValues, inGit, validation } = x;
  return [
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
    timings.downtime ? `Downtime (applications down → ready again): ${(timings.downtime / 1000).toFixed(1)} s.` : '',
    r.verification ? `Verified: ${r.verification}.` : '',
    r.leftRunning.length ? `Left running (connected before the upgrade, not scaled): ${r.leftRunning.join(', ')}.` : '',
    ...r.extensionsSkipped.map((x) => `WARNING ${skippedText(x)}`),
    r.validation
      ? `\nvalidate's checks:\n${checksText(r.validation.checks).join('\n')}\n${summaryLine(validation)}`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
}
