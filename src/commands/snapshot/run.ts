import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { formatBytes } from '../../k8s/quantity.ts';
import { printReport, type Io } from '../../output.ts';
import type { OutputFormat } from '../../renderer.ts';
import { listrOptions } from '../../listr-options.ts';
import type { SnapshotCtx, SnapshotOptions, VerifyResult } from './ctx.ts';
import { createSnapshotTasks } from './tasks.ts';
import { snapshotState, snapshotTable, type SnapshotRecord } from '../../volume-snapshots/record.ts';
import { listSnapshots } from '../../volume-snapshots/take.ts';

/** What `snapshot -o json` prints. */
export interface SnapshotReport {
  snapshot: SnapshotRecord;
  verify: VerifyResult | null;
}

function reportText(r: SnapshotReport): string {
  const s = r.snapshot;
  const lines = [
    `VolumeSnapshot ${s.namespace}/${s.name}`,
    `  workload     ${s.workload}`,
    `  PVC          ${s.pvc} (class ${s.className})`,
    `  PostgreSQL   ${s.pgVersion}`,
    `  consistency  ${s.consistency === 'crash-consistent' ? 'crash-consistent: cut while the server ran, after a CHECKPOINT; a restore runs crash recovery' : 'cut while the database was stopped'}`,
    `  state        ${snapshotState(s)}${s.cutAt ? `, cut at ${s.cutAt}` : ''}${s.restoreSizeBytes ? `, restore size ${formatBytes(s.restoreSizeBytes)}` : ''}`,
    `  fingerprint  ${s.fingerprint ? `ConfigMap ${s.fingerprint}` : 'none (taken with --verify)'}`,
  ];
  if (r.verify) {
    lines.push(
      `  verify       ${r.verify.ok ? 'ok' : 'FAILED'}: the copy started; compared with the ${r.verify.against}`,
    );
    for (const d of r.verify.differences) lines.push(`               ${d}`);
    for (const w of r.verify.writtenDuringCut) lines.push(`               (written meanwhile) ${w}`);
  }
  if (snapshotState(s) !== 'ready')
    lines.push(
      '',
      `It is not ready to use yet; follow it with: kubectl -n ${s.namespace} get volumesnapshot ${s.name} -w`,
    );
  return lines.join('\n');
}

/** `snapshot`: takes (and optionally verifies) a VolumeSnapshot of the data PVC, or lists ours with --list. */
export async function runSnapshot(
  ctx: CommandContext,
  opts: SnapshotOptions & { list: boolean; output: OutputFormat },
  io: Io,
): Promise<void> {
  if (opts.list) {
    const cluster = await ctx.cluster();
    const workload = opts.workload?.includes('/')
      ? opts.workload.replace(/^sts\//, 'StatefulSet/').replace(/^deploy\//, 'Deployment/')
      : undefined;
    const all = await listSnapshots(cluster, cluster.namespace, workload);
    const named = opts.workload && !workload ? all.filter((r) => r.workload.endsWith(`/${opts.workload}`)) : all;
    await printReport(io, opts.output, named, snapshotTable);
    return;
  }
  const listOpts = listrOptions(ctx.flags);
  const renderer = listOpts.renderer;
  const list = new Listr<SnapshotCtx, typeof renderer, 'simple'>(
    createSnapshotTasks(() => ctx.cluster(), opts),
    listOpts,
  );
  const c = {} as SnapshotCtx;
  await list.run(c);
  const report: SnapshotReport = {
    snapshot: { ...c.record, fingerprint: c.fingerprintConfigMap ?? null },
    verify: c.verify ?? null,
  };
  await printReport(io, opts.output, report, reportText);
  if (c.verify && !c.verify.ok) {
    throw new CliError(
      `the copy restored from ${c.record.name} differs from the ${c.verify.against} (above); the snapshot is kept, do not rely on it`,
      ExitCode.blocking,
    );
  }
}
