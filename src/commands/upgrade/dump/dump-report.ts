import { printReport, type Io } from '../../../output.ts';
import { ownerKey } from '../../../postgres/gitops-pause.ts';
import { dumpSourceNotes, keepsSourceRunning, SUPERUSER_SECRET_KEY } from '../../../postgres/dump-source.ts';
import type { OutputFormat } from '../../../renderer.ts';
import { checksText, summaryLine, type ValidateReport } from '../../../validation/report.ts';
import { dst, type DumpCtx } from './ctx.ts';
import { cutoverCommand } from './cutover.ts';
import { gitChangeOf } from './git-change.ts';

/** The report of a finished upgrade by dump, with validate's checks on the new instance. */
export function dumpReport(c: DumpCtx, ref: string, validation: ValidateReport) {
  const s = dst(c);
  const why = dumpSourceNotes({
    source: ref,
    sourcePvc: s.pvc,
    targetPvc: s.target.pvc,
    cutover: s.cutover,
    inlinePassword: c.d.superuser?.literal ? c.d.superuser.env : undefined,
    createdSecret: s.target.secret ? { name: s.target.secret, key: SUPERUSER_SECRET_KEY } : undefined,
  });
  return {
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
}

type DumpReport = ReturnType<typeof dumpReport>;

/** The report as text: what was done, the cutover (or how to make it), the notes, then validate's checks. */
function dumpReportText(c: DumpCtx, r: DumpReport, validation: ValidateReport): string {
  const s = dst(c);
  return [
    `${r.workload} in ${r.namespace} (PostgreSQL ${r.from}) was dumped and restored into ${r.newInstance} (PostgreSQL ${r.to}); the fingerprints are equal.`,
    s.cutover
      ? `Cut over: Service ${r.services.join(', ') || '(none)'} now leads to the new instance; the old one is ` +
        `${keepsSourceRunning(s) ? 'left running (it has no volume)' : `scaled to 0 and kept with PVC ${s.pvc}`} (undo: kubectl pgupgrade upgrade -n ${r.namespace} ${r.workload} --rollback).`
      : `Not cut over (--no-cutover): the applications still use the old instance. Point them at the new one:\n  ` +
        (s.services.map((x) => cutoverCommand(r.namespace, x.name, x.before, c.target.cutoverSelector)).join('\n  ') ||
          `connect them to Service ${s.target.service}`),
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
    .join('\n');
}

/** Prints the report of a finished upgrade by dump, as text or in the --output format. */
export async function printDumpReport(
  io: Io,
  output: OutputFormat,
  c: DumpCtx,
  ref: string,
  validation: ValidateReport,
): Promise<void> {
  await printReport(io, output, dumpReport(c, ref, validation), (r) => dumpReportText(c, r, validation));
}
