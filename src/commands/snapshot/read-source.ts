import { CliError, ExitCode } from '../../exit-codes.ts';
import { fingerprintVia } from '../../fingerprint/read.ts';
import type { Fingerprint } from '../../postgres/fingerprint.ts';
import { fingerprintTotals } from '../../postgres/fingerprint.ts';
import { stableAcrossCut } from '../../postgres/fingerprint-cut.ts';
import { readControlData, startProbe } from '../../probe/probe.ts';
import { gatherVolume, serverVersion } from '../../server/gather.ts';
import { liveReach, readPassword } from '../../server/reach.ts';
import { recordKey } from '../../state/record-key.ts';
import type { SnapshotCtx, TitledTask } from './ctx.ts';

/** Asks the running server for its version (and reads the superuser's password for what follows). */
export async function askServerVersion(ctx: SnapshotCtx, task: TitledTask): Promise<void> {
  ctx.password = await readPassword(ctx.cluster, ctx.d);
  const v = await serverVersion(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
  ctx.version = v.version;
  ctx.major = Math.floor(v.num / 10000);
  task.title = `Ask the running server for its version: PostgreSQL ${v.version}`;
}

/** Fingerprints the running database before the cut, to verify the copy against. */
export async function fingerprintBefore(ctx: SnapshotCtx, task: TitledTask): Promise<void> {
  // The fingerprint kept with the snapshot has keyed checksums: the key is there before the first one.
  await recordKey(ctx.cluster, ctx.d.namespace);
  ctx.before = await fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
  const t = fingerprintTotals(ctx.before);
  task.title = `Fingerprint the database: ${t.databases} databases, ${t.tables} tables, ${t.rows} rows`;
}

/** Fingerprints the running database again after the cut: what changed since the first was written meanwhile. */
export async function fingerprintAfter(ctx: SnapshotCtx, task: TitledTask): Promise<void> {
  ctx.after = await fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
  const { written } = stableAcrossCut(ctx.before as Fingerprint, ctx.after);
  task.title = `Fingerprint the database again: ${written.length ? `${written.length} tables or sequences were written meanwhile` : 'nothing was written meanwhile'}`;
}

/** Probes a stopped database's volume: PG_VERSION and pg_controldata, so the snapshot says what it holds. */
async function probeStopped(ctx: SnapshotCtx): Promise<void> {
  const probe = await startProbe(ctx.cluster, ctx.d, ctx.d.image, {
    role: 'snapshot-probe',
    purpose: 'reads PG_VERSION and pg_controldata of a stopped database before its snapshot; deleted at once',
  });
  try {
    const vol = await gatherVolume(ctx.cluster, ctx.d, probe, ctx.d.pgdata);
    ctx.controlData = await readControlData(ctx.cluster, ctx.d, probe);
    ctx.version = vol.pgVersion ?? '';
    ctx.major = Number(vol.pgVersion);
  } finally {
    await probe.dispose();
  }
  if (!ctx.major)
    throw new CliError(
      `${ctx.d.pvc.metadata.name}: no PG_VERSION in ${ctx.d.pgdata}; is this the data volume of a PostgreSQL cluster?`,
      ExitCode.failed,
    );
}

/** The probe task of a stopped database: what it read, in the task's title. */
export async function probeStoppedTask(ctx: SnapshotCtx, task: TitledTask): Promise<void> {
  await probeStopped(ctx);
  task.title = `Read PG_VERSION and pg_controldata of the stopped database: PostgreSQL ${ctx.major}, ${ctx.controlData?.state}`;
}
