import { discover, type Discovery } from '../../discovery/discover.ts';
import { liveReach, readPassword } from '../../server/reach.ts';
import { runPsqlScript } from '../../server/psql.ts';
import { isInterrupted } from '../../interrupt.ts';
import { CliError, ExitCode } from '../../exit-codes.ts';
import { compareFingerprints, fingerprintTotals, type Fingerprint } from '../../postgres/fingerprint.ts';
import { UPDATE_EXTENSIONS_SCRIPT, upgradePaths } from '../../postgres/upgrade-script.ts';
import { fingerprintVia, shapeVia } from '../../fingerprint/read.ts';
import { GUARDED_UPDATE_SQL, parseSkipped } from '../../postgres/extension-guard.ts';
import { compareShapes, withShapeSequences } from '../../postgres/shape.ts';
import { loadReference, type Reference } from '../../state/reference.ts';
import { scaleTo, waitWorkloadReady } from '../../steps/workload.ts';
import { record, st, startReference, timed, writeState, type UpgradeCtx, type UpgradeOptions } from './ctx.ts';
import { refOf } from '../../postgres/workload.ts';

/** The reference, from this run's background read, or stored by an earlier run, or read from the snapshot now. */
async function awaitReference(ctx: UpgradeCtx): Promise<Reference> {
  if (!ctx.reference) {
    const stored = await loadReference(ctx.cluster, ctx.d.namespace, ctx.names.fingerprint, st(ctx));
    if (stored) ctx.reference = Promise.resolve(stored);
    else startReference(ctx, 3600_000);
  }
  const ref = await ctx.reference;
  if (!ref)
    throw new CliError(
      `no reference fingerprint: the upgrade ran with --no-snapshot and its fingerprint (ConfigMap ${ctx.names.fingerprint}) is gone`,
      ExitCode.failed,
    );
  if (ref instanceof Error)
    throw new CliError(
      `${ref.message}. The new server runs; compare by hand, or roll back: kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(st(ctx).workload)} --rollback`,
      ExitCode.failed,
    );
  return ref;
}

export async function scaleAppsUp(ctx: UpgradeCtx, timeout: number): Promise<void> {
  for (const a of st(ctx).apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, a.replicas);
  for (const a of st(ctx).apps) await waitWorkloadReady(ctx.cluster, ctx.d.namespace, a, timeout);
}

export const runSql = (ctx: UpgradeCtx, d: Discovery, script: string, arg: string | string[], what: string) =>
  runPsqlScript(ctx.cluster, d, ctx.password ?? '', script, arg, what);

/** Compares, fills the report's figures, and fails loudly with the way back on a difference. */
function judge(ctx: UpgradeCtx, appsStarted: boolean, before: Fingerprint, after: Fingerprint): void {
  // A resumed run may find the extensions already moved to the new major's versions: an interrupted earlier run ran
  // update_extensions.sql after its compare passed and before it could record it. Each must still be there.
  ctx.fingerprintDiff = compareFingerprints(before, after, { extensionUpdates: ctx.resuming });
  const rows = (fp: Fingerprint, db: string) =>
    Object.values(fp.perDb[db]?.tables ?? {}).reduce((n, t) => n + t.rows, 0);
  ctx.perDatabase = [...new Set([...Object.keys(before.perDb), ...Object.keys(after.perDb)])].sort().map((db) => ({
    database: db,
    tables: Object.keys(after.perDb[db]?.tables ?? {}).length,
    rowsBefore: rows(before, db),
    rowsAfter: rows(after, db),
  }));
  ctx.totals = fingerprintTotals(after);
  if (!ctx.fingerprintDiff.length) return;
  const undo = `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(st(ctx).workload)} --rollback`;
  throw new CliError(
    `the upgraded database differs from the data as the upgrade found it (the reference fingerprint):\n  ${ctx.fingerprintDiff.join('\n  ')}\n` +
      (appsStarted
        ? `The applications were started meanwhile (every relation and its size were equal): stop them now, look, then undo (their writes since are lost): ${undo}`
        : `The applications stay scaled down. Look, then undo: ${undo}`),
    ExitCode.failed,
  );
}

/**
 * Why the content must be compared before the applications return, or undefined when the shape read on the old
 * server once nothing wrote equals the new server's: then they return while it is compared.
 */
async function whyCompareFirst(ctx: UpgradeCtx, opts: UpgradeOptions, d: Discovery): Promise<string | undefined> {
  if (opts.fullVerify) return '--full-verify';
  if (!ctx.shapeBefore) return 'no shape of the old server was read in this run';
  const after = await timed(ctx, 'shape-after', () => shapeVia(ctx.cluster, d, liveReach(d), ctx.password as string));
  ctx.shapeAfter = after;
  const diff = compareShapes(ctx.shapeBefore, after);
  return diff.length
    ? `the shape differs: ${diff.slice(0, 3).join('; ')}${diff.length > 3 ? `; and ${diff.length - 3} more` : ''}`
    : undefined;
}

/** Verify: every relation and its size, then the content against the reference fingerprint; the applications start meanwhile when the shape is equal. */
export async function verifyData(
  ctx: UpgradeCtx,
  task: { title: string },
  opts: UpgradeOptions,
  timeout: number,
): Promise<void> {
  const s = st(ctx);
  const d = await discover(ctx.cluster, ctx.d.namespace, refOf(s.workload), opts.appSelector, opts);
  ctx.d = d;
  ctx.password ??= await readPassword(ctx.cluster, d);
  if (s.verifyHeldAt) {
    // An earlier run let the applications start while it compared: they have written since, so the content
    // cannot be compared again. Say so; validate compares what can be.
    await record(ctx, 'verified');
    ctx.verification = `interrupted earlier after the applications started (${s.verifyHeldAt}); the content compare cannot be repeated: run validate`;
    task.title = `Verify: ${ctx.verification}`;
    return;
  }
  const t0 = Date.now();
  const why = await whyCompareFirst(ctx, opts, d);
  const appsFirst = !why;
  const read = readFingerprint(ctx, d, appsFirst);
  if (appsFirst) await startAppsOnceHeld(ctx, task, d, read, t0, timeout);
  const [after, ref] = await Promise.all([read.reading, timed(ctx, 'reference-wait', () => awaitReference(ctx))]);
  if (!appsFirst) ctx.timings.verified = Date.now() - t0;
  // update_extensions.sql runs after the snapshot or the compare: extension versions are pg_upgrade's, equal to before.
  judge(
    ctx,
    appsFirst,
    ref.fingerprint,
    appsFirst && ctx.shapeAfter ? withShapeSequences(after, ctx.shapeAfter) : after,
  );
  if (!appsFirst) await updateExtensions(ctx, d);
  await record(ctx, 'verified');
  ctx.verification = appsFirst
    ? 'every relation and its size equal before the applications returned; the content compared while they started, from a snapshot held before'
    : `the content compared before the applications returned (${why})`;
  task.title =
    `Verify: equal to the reference read from the ${ref.source} (${ctx.totals?.databases} databases, ${ctx.totals?.tables} tables, ${ctx.totals?.rows} rows); ` +
    ctx.verification;
}

/** The fingerprint of the new server; with hold, heldNow resolves once a snapshot of the data is held for it. */
function readFingerprint(ctx: UpgradeCtx, d: Discovery, hold: boolean) {
  let held: () => void = () => undefined;
  const heldNow = new Promise<void>((r) => (held = r));
  const reading = fingerprintVia(ctx.cluster, d, liveReach(d), ctx.password as string, hold ? () => held() : undefined);
  return { heldNow, reading };
}

/** The shape equal: once the data is held, recorded so, the extensions updated and the applications started. */
async function startAppsOnceHeld(
  ctx: UpgradeCtx,
  task: { title: string },
  d: Discovery,
  read: ReturnType<typeof readFingerprint>,
  t0: number,
  timeout: number,
): Promise<void> {
  await Promise.race([read.heldNow, read.reading]);
  ctx.timings.verified = Date.now() - t0;
  ctx.state = { ...st(ctx), verifyHeldAt: new Date().toISOString() };
  await writeState(ctx);
  task.title =
    'Verify: every relation and its size are equal; a snapshot of the data is held and the applications start while it is compared';
  await updateExtensions(ctx, d);
  await timed(ctx, 'apps-up', () => scaleAppsUp(ctx, timeout));
  if (ctx.timings.downtime && ctx.timings.downtime > 1e12) ctx.timings.downtime = Date.now() - ctx.timings.downtime;
}

/** update_extensions.sql; the updates in schemas that non-superusers can write are skipped, and named in the report. */
async function updateExtensions(ctx: UpgradeCtx, d: Discovery): Promise<void> {
  // Interrupted meanwhile (Ctrl-C releases the lock): change nothing more; a resumed run does it.
  if (isInterrupted()) throw new Error('interrupted');
  const s = st(ctx);
  ctx.extensionsSkipped = parseSkipped(
    await runSql(
      ctx,
      d,
      UPDATE_EXTENSIONS_SCRIPT,
      [upgradePaths(ctx.job.pgdata, s.from, s.to).work, GUARDED_UPDATE_SQL],
      'update_extensions.sql',
    ),
  );
}
