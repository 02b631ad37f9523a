import { blockingError, CliError, ExitCode, usageError } from '../../exit-codes.ts';
import { evaluate } from '../../preflight/evaluate.ts';
import { locksNeeded, maxLocksFor } from '../../postgres/locks.ts';
import { plan } from '../../preflight/estimate.ts';
import { evidenceOf } from '../../preflight/evidence.ts';
import { probeIdentity } from '../../probe/probe.ts';
import { noUpgradeImageAdvice, targetImageFor, upgradeImageFor } from '../../postgres/images.ts';
import { verifyImageFlags } from '../../postgres/image-flags.ts';
import { failedRehearsalProblem, parseRehearsalRecord } from '../../postgres/rehearsal.ts';
import { initdbOptions } from '../../postgres/rules.ts';
import { rollingStrategyOf } from '../../postgres/strategy.ts';
import { removedSettings } from '../../postgres/upgrade-script.ts';
import { refOf, tagMajor } from '../../postgres/workload.ts';
import type { ScaledWorkload, UpgradeState } from '../../state/state.ts';
import { podsOutside } from '../../discovery/named-apps.ts';
import type { UpgradeCtx, UpgradeOptions } from './ctx.ts';

type CheckOptions = Parameters<typeof evidenceOf>[1];
type Findings = ReturnType<typeof evaluate>;
type Server = NonNullable<UpgradeCtx['server']>;

/** The pods connected to the database now that no application scaling stops, by name, with their sessions. */
async function connectedOutside(ctx: UpgradeCtx): Promise<string[]> {
  const clients = (ctx.server?.clients ?? []).filter((c) => c.address && ctx.d.podsByIp[c.address]);
  if (!clients.length) return [];
  const outside = new Set(
    podsOutside(await ctx.cluster.listPods(ctx.d.namespace), ctx.d.apps, ctx.d.workload).map((p) => p.metadata.name),
  );
  const byPod = new Map<string, string[]>();
  for (const c of clients) {
    const pod = ctx.d.podsByIp[c.address as string] as string;
    if (outside.has(pod)) byPod.set(pod, [...(byPod.get(pod) ?? []), `${c.user ?? '?'}@${c.database ?? '?'}`]);
  }
  return [...byPod].map(([pod, s]) => `pod ${pod} (${[...new Set(s)].join(', ')})`);
}

const withStrategy = (strategy: UpgradeState['strategy']) => (strategy ? { strategy } : {});

/** check's findings with the last rehearsal's; a failing one not forced refuses (exit 3), as does clone without reflinks (exit 2). */
async function judgeFindings(ctx: UpgradeCtx, opts: UpgradeOptions, checkOpts: CheckOptions): Promise<Findings> {
  const evidence = evidenceOf(ctx, checkOpts);
  const findings = evaluate(evidence);
  ctx.estimate = plan(evidence).estimate;
  if (opts.method === 'clone' && ctx.volume?.reflink === false) {
    throw usageError(
      `--method clone needs a filesystem that can clone files (reflinks: XFS, Btrfs); the volume of PVC ${ctx.d.pvc.metadata.name} ` +
        `(${ctx.volume.fsType}) cannot. Use --method link (no data copied) or copy; nothing was changed`,
    );
  }
  const rehearsalRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ctx.d.namespace, name: ctx.names.rehearsal };
  const rehearsed = failedRehearsalProblem(
    parseRehearsalRecord((await ctx.cluster.readObject(rehearsalRef))?.data?.['rehearsal.json']),
    opts.to,
    rehearsalRef.name,
    `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf({ kind: ctx.d.workload.kind, name: ctx.d.workload.metadata.name })} --to ${opts.to} --rehearse`,
  );
  if (rehearsed)
    findings.push({ id: 'rehearsal', title: 'The last rehearsal passed', status: 'fail', found: rehearsed });
  const blocking = findings.filter((f) => f.status === 'fail' && !opts.force.includes(f.id));
  if (blocking.length) {
    throw blockingError(
      `preflight failed; nothing was changed:\n${blocking.map((f) => `  ${f.id}: ${f.found}${f.fix ? `\n    fix: ${f.fix}` : ''}`).join('\n')}\n` +
        `(--force <id> goes on despite one of them, at your own risk)`,
    );
  }
  return findings;
}

/** The upgrade Job as it will be made (ctx.job), with the image that upgrades `from` to --to (exit 2 when none). */
function planJob(ctx: UpgradeCtx, opts: UpgradeOptions, server: Server, from: number, w: ScaledWorkload): void {
  const volume = ctx.volume as NonNullable<UpgradeCtx['volume']>;
  const badImage = verifyImageFlags(opts.image, opts.jobImage, opts.to, from);
  if (badImage) throw usageError(`${badImage}; nothing was changed`);
  const jobImage = opts.jobImage ?? upgradeImageFor(from, opts.to);
  if (!jobImage) throw usageError(`${noUpgradeImageAdvice(from, opts.to)}; nothing was changed`);
  const { uid, gid } = volume.data.uid > 0 ? { uid: volume.data.uid, gid: volume.data.gid } : probeIdentity(ctx.d);
  ctx.job = {
    name: ctx.names.job,
    namespace: ctx.d.namespace,
    workload: `${w.kind}/${w.name}`,
    image: jobImage,
    claim: ctx.d.pvc.metadata.name,
    mountPath: ctx.d.mountPath,
    pgdata: server.dataDirectory || ctx.d.pgdata,
    from,
    to: opts.to,
    method: opts.method,
    installUser: server.installUser,
    removedSettings: removedSettings(from, opts.to),
    initdb: initdbOptions(server, opts.to),
    ...upgradeLocks(ctx, opts.to),
    uid,
    gid,
    ...(ctx.relayout
      ? { mountPath: ctx.relayout.toMount, pgdata: ctx.relayout.pgdata, root: ctx.relayout.toMount }
      : {}),
  };
}

/** max_locks_per_transaction for pg_upgrade's servers, when the cluster's own lock table is too small for its relations. */
function upgradeLocks(ctx: UpgradeCtx, to: number): { maxLocks?: number } {
  const t = ctx.server?.lockTable;
  if (!t || !ctx.databases) return {};
  const maxLocks = maxLocksFor(t, locksNeeded([...ctx.databases.values()], to));
  return maxLocks ? { maxLocks } : {};
}

/** The record of the new upgrade, at its first phase. */
function newRecord(
  ctx: UpgradeCtx,
  opts: UpgradeOptions,
  server: Server,
  from: number,
  w: ScaledWorkload,
): UpgradeState {
  // A workload whose image already runs a newer major (bumped): the old major's image of the same repository.
  const oldImage = tagMajor(ctx.d.image) === from ? ctx.d.image : (targetImageFor(ctx.d.image, from) ?? ctx.d.image);
  const job = ctx.job as NonNullable<UpgradeCtx['job']>;
  return {
    version: 1,
    workload: w,
    workloadUid: ctx.d.workload.metadata.uid ?? '',
    pvc: ctx.d.pvc.metadata.name,
    container: ctx.d.container.name,
    from,
    fromVersion: server.version.split(' ')[0] ?? server.version,
    to: opts.to,
    method: opts.method,
    oldImage,
    targetImage: opts.image ?? targetImageFor(ctx.d.image, opts.to) ?? '',
    jobImage: job.image,
    apps: ctx.d.apps.map((a) => ({ kind: a.kind, name: a.metadata.name, replicas: a.replicas })),
    snapshot: null,
    fingerprintConfigMap: ctx.names.fingerprint,
    job: ctx.names.job,
    phase: 'preflight',
    history: [],
    jobSpec: job,
    ...(ctx.relayout ? { relayout: ctx.relayout } : {}),
    ...withStrategy(rollingStrategyOf(ctx.d.workload)),
  };
}

/** The "Judge the preflight and plan the upgrade" task: the findings judged, the Job and the record planned; the title. */
export async function planUpgrade(ctx: UpgradeCtx, opts: UpgradeOptions, checkOpts: CheckOptions): Promise<string> {
  const findings = await judgeFindings(ctx, opts, checkOpts);
  const server = ctx.server;
  if (!server || !ctx.volume)
    throw new CliError('the preflight could not read the server or the volume', ExitCode.failed);
  const from = Math.floor(server.versionNum / 10000);
  const w: ScaledWorkload = {
    kind: ctx.d.workload.kind,
    name: ctx.d.workload.metadata.name,
    replicas: ctx.bumped?.replicas ?? Math.max(ctx.d.workload.replicas, 1),
  };
  planJob(ctx, opts, server, from, w);
  ctx.state = newRecord(ctx, opts, server, from, w);
  ctx.warnings = findings.filter((f) => f.status === 'warn').map((f) => ({ id: f.id, found: f.found, fix: f.fix }));
  ctx.leftRunning = await connectedOutside(ctx);
  const warn = ctx.warnings.length;
  return (
    `Judge the preflight and plan the upgrade: ${findings.length - warn - findings.filter((f) => f.status === 'fail').length} passed, ${warn} warnings` +
    `${opts.force.length ? `, forced past: ${opts.force.join(', ')}` : ''}; PostgreSQL ${server.version} → ${opts.to} by --${opts.method}`
  );
}
