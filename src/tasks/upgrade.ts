import type { ListrTask } from 'listr2';
import type { Cluster, KObject } from '../k8s/cluster.ts';
import { discover } from '../check/discover.ts';
import { evaluate, plan } from '../check/evaluate.ts';
import { liveReach, modeOf, readPassword } from '../check/gather.ts';
import { probeIdentity } from '../check/probe.ts';
import { evidenceOf } from '../check/run.ts';
import { blockingError, CliError, ExitCode, usageError } from '../exit-codes.ts';
import { buildUpgradeJob, type UpgradeJobSpec } from '../manifests/upgrade-job.ts';
import { buildVolumeSnapshot } from '../manifests/snapshot.ts';
import { compareFingerprints, fingerprintTotals, type Fingerprint } from '../postgres/fingerprint.ts';
import { targetImageFor, upgradeImageFor, parseImageRef, verifyImageFlags } from '../postgres/images.ts';
import { initdbOptions } from '../postgres/rules.ts';
import { ANALYZE_SCRIPT, UPDATE_EXTENSIONS_SCRIPT, removedSettings, upgradePaths } from '../postgres/upgrade-script.ts';
import { psqlStdin } from '../postgres/queries.ts';
import { tagMajor, multiReplicaProblem } from '../postgres/workload.ts';
import type { SnapshotRecord } from '../snapshot/record.ts';
import { createSnapshot, fingerprintVia, waitSnapshot } from '../snapshot/take.ts';
import { fingerprintData, readFingerprint } from '../snapshot/fingerprint-store.ts';
import { advance, isDone, parseState, resumeProblem, upgradeNames, type InPlaceMethod, type Phase, type ScaledWorkload, type UpgradeState } from '../upgrade/state.ts';
import { patchImage, runJob, saveState, scaleTo, waitDetached, waitPodsGone, waitWorkloadReady } from '../upgrade/steps.ts';
import { connectTask } from './connect.ts';
import { createCheckTasks, type CheckCtx } from './check.ts';

/** What `upgrade` was asked to do. */
export interface UpgradeOptions {
  workload?: string;
  to: number;
  method: InPlaceMethod;
  image?: string;
  jobImage?: string;
  appSelector: Record<string, string>;
  force: string[];
  snapshot: boolean;
  waitSnapshotReady: boolean;
  patchWorkload: boolean;
  timeoutSeconds: number;
  /** Start the applications once a REPEATABLE READ snapshot of the data is held, and compare while they start. */
  verifyWhileAppsStart: boolean;
}

/** The stored Job spec travels in the state, so that a resumed run makes the very same Job. */
export interface UpgradeCtx extends CheckCtx {
  names: ReturnType<typeof upgradeNames>;
  state?: UpgradeState;
  /** True when a recorded, unfinished upgrade is being resumed. */
  resuming: boolean;
  job: UpgradeJobSpec;
  snapshotReady?: Promise<SnapshotRecord | Error>;
  /** Milliseconds per phase, and finer parts (db-shutdown, volume-detach, job-start, pg_upgrade), and downtime. */
  timings: Record<string, number>;
  fingerprintDiff?: string[];
  /** Per database: tables, and rows before and after, for the report. */
  perDatabase?: Array<{ database: string; tables: number; rowsBefore: number; rowsAfter: number }>;
  totals?: { databases: number; tables: number; rows: number };
  jobLog?: string;
  stoppedForManualPatch?: boolean;
  /** check's downtime estimate, shown before the user confirms. */
  estimate?: { seconds: number; formula: string };
  /** Set when the recorded upgrade to this target is done and the workload runs it: exit 0, say so. */
  nothingToDo?: string;
}

const refOf = (w: { kind: string; name: string }) => `${w.kind === 'StatefulSet' ? 'sts' : 'deploy'}/${w.name}`;
const fpRef = (ctx: UpgradeCtx) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ctx.d.namespace, name: ctx.names.fingerprint });

/** Records a phase as done in the state ConfigMap. */
async function record(ctx: UpgradeCtx, p: Phase): Promise<void> {
  ctx.state = advance(ctx.state as UpgradeState, p);
  await saveState(ctx.cluster, ctx.d.namespace, ctx.names.state, ctx.state);
}

/** Times a phase. */
async function timed<T>(ctx: UpgradeCtx, p: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    ctx.timings[p] = (ctx.timings[p] ?? 0) + (Date.now() - t);
  }
}

/** The read-only part: find the workload and any recorded upgrade, run check's blocking checks, make the plan. */
export function createPlanTasks(connect: () => Promise<Cluster>, opts: UpgradeOptions): Array<ListrTask<UpgradeCtx>> {
  const checkOpts = { workload: opts.workload, to: opts.to, method: opts.method, appSelector: opts.appSelector, image: opts.jobImage };
  return [
    connectTask<UpgradeCtx>(connect),
    {
      title: 'Find the PostgreSQL workload and any upgrade already under way',
      task: async (ctx, task) => {
        ctx.timings = {};
        ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, opts.appSelector);
        ctx.names = upgradeNames(ctx.d.workload.metadata.name, opts.to);
        const state = parseState(await ctx.cluster.readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ctx.d.namespace, name: ctx.names.state }));
        if (state?.phase === 'done' && state.to === opts.to && tagMajor(ctx.d.image) === opts.to) {
          ctx.nothingToDo = `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} was upgraded to PostgreSQL ${opts.to} already ` +
            `(${state.history.at(-1)?.at ?? 'earlier'}); nothing to do`;
          task.title = `Find the PostgreSQL workload: already upgraded to ${opts.to}`;
          return;
        }
        if (state && state.phase !== 'done') {
          const problem = resumeProblem(state, opts.to, opts.method, ctx.d.namespace);
          if (problem) throw usageError(problem);
          ctx.state = state;
          ctx.resuming = true;
          ctx.job = state.jobSpec;
          task.title = `Found an upgrade of ${refOf(state.workload)} from ${state.from} to ${state.to} stopped after "${state.phase}": resuming it`;
          return;
        }
        const multi = multiReplicaProblem(ctx.d.workload, ctx.d.namespace);
        if (multi) throw usageError(multi);
        const { pgdata, mountPath } = ctx.d;
        if (pgdata.replace(/\/+$/, '') === mountPath.replace(/\/+$/, '')) {
          throw usageError(`PGDATA ${pgdata} is the root of the volume: an in-place upgrade puts the new cluster beside the old one on the same ` +
            `filesystem and swaps the directories, which a mount point cannot be. Set PGDATA to a subdirectory (e.g. ${mountPath}/pgdata) first`);
        }
        if (opts.patchWorkload && !opts.image && !targetImageFor(ctx.d.image, opts.to)) {
          throw usageError(`${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} runs ${ctx.d.image}, not an image whose ` +
            `repository we know how to move to PostgreSQL ${opts.to}: pass --image <the vendor's image for ${opts.to}>, or --no-patch-workload to change it yourself`);
        }
        if (ctx.d.pvc.accessModes.length && !ctx.d.pvc.accessModes.some((m) => m === 'ReadWriteOnce' || m === 'ReadWriteOncePod')) {
          throw usageError(`PVC ${ctx.d.namespace}/${ctx.d.pvc.metadata.name} is ${ctx.d.pvc.accessModes.join(', ')}, not ReadWriteOnce: other pods could ` +
            `mount it while pg_upgrade runs; an in-place upgrade needs a volume that only the database mounts`);
        }
        ctx.resuming = false;
        ctx.mode = modeOf(ctx.d);
        if (ctx.mode !== 'live') {
          throw new CliError(`${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} is not running. upgrade starts from a running ` +
            `database, whose fingerprint it takes before any downtime: scale it back up (to its usual replicas) and run upgrade again`, ExitCode.failed);
        }
        task.title = `Find the PostgreSQL workload: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, PVC ${ctx.d.pvc.metadata.name}, pod ${ctx.d.pod?.metadata.name}`;
      },
    },
    {
      title: 'Preflight: the blocking checks of check',
      enabled: (ctx) => !ctx.resuming && !ctx.nothingToDo,
      task: (_ctx, task) => task.newListr(createCheckTasks(connect, checkOpts).slice(2) as unknown as Array<ListrTask<UpgradeCtx>>, { exitOnError: true }),
    },
    {
      title: 'Judge the preflight and plan the upgrade',
      enabled: (ctx) => !ctx.resuming && !ctx.nothingToDo,
      task: async (ctx, task) => {
        const evidence = evidenceOf(ctx, checkOpts);
        const findings = evaluate(evidence);
        ctx.estimate = plan(evidence).estimate;
        if (opts.method === 'clone' && ctx.volume?.reflink === false) {
          throw usageError(`--method clone needs a filesystem that can clone files (reflinks: XFS, Btrfs); the volume of PVC ${ctx.d.pvc.metadata.name} ` +
            `(${ctx.volume.fsType}) cannot. Use --method link (no data copied) or copy; nothing was changed`);
        }
        const blocking = findings.filter((f) => f.status === 'fail' && !opts.force.includes(f.id));
        if (blocking.length) {
          throw blockingError(`preflight failed; nothing was changed:\n${blocking.map((f) => `  ${f.id}: ${f.found}${f.fix ? `\n    fix: ${f.fix}` : ''}`).join('\n')}\n` +
            `(--force <id> goes on despite one of them, at your own risk)`);
        }
        const server = ctx.server;
        if (!server || !ctx.volume) throw new CliError('the preflight could not read the server or the volume', ExitCode.failed);
        const from = Math.floor(server.versionNum / 10000);
        const badImage = verifyImageFlags(opts.image, opts.jobImage, opts.to, from);
        if (badImage) throw usageError(`${badImage}; nothing was changed`);
        const { uid, gid } = ctx.volume.data.uid > 0 ? { uid: ctx.volume.data.uid, gid: ctx.volume.data.gid } : probeIdentity(ctx.d);
        const w: ScaledWorkload = { kind: ctx.d.workload.kind, name: ctx.d.workload.metadata.name, replicas: Math.max(ctx.d.workload.replicas, 1) };
        ctx.job = {
          name: ctx.names.job, namespace: ctx.d.namespace, workload: `${w.kind}/${w.name}`, image: opts.jobImage ?? upgradeImageFor(from, opts.to),
          claim: ctx.d.pvc.metadata.name, mountPath: ctx.d.mountPath, pgdata: server.dataDirectory || ctx.d.pgdata, from, to: opts.to, method: opts.method,
          installUser: server.installUser, removedSettings: removedSettings(from, opts.to), initdb: initdbOptions(server, opts.to), uid, gid,
        };
        const state: UpgradeState = {
          version: 1, workload: w, container: ctx.d.container.name, from, fromVersion: server.version.split(' ')[0] ?? server.version, to: opts.to, method: opts.method,
          oldImage: ctx.d.image, targetImage: opts.image ?? targetImageFor(ctx.d.image, opts.to) ?? '', jobImage: ctx.job.image,
          apps: ctx.d.apps.map((a) => ({ kind: a.kind, name: a.metadata.name, replicas: a.replicas })),
          snapshot: null, fingerprintConfigMap: ctx.names.fingerprint, job: ctx.names.job, phase: 'preflight', history: [], jobSpec: ctx.job,
        };
        ctx.state = state;
        const warn = findings.filter((f) => f.status === 'warn').length;
        task.title = `Judge the preflight and plan the upgrade: ${findings.length - warn - findings.filter((f) => f.status === 'fail').length} passed, ${warn} warnings` +
          `${opts.force.length ? `, forced past: ${opts.force.join(', ')}` : ''}; PostgreSQL ${server.version} → ${opts.to} by --${opts.method}`;
      },
    },
  ];
}

/** Every object and patch the upgrade will apply, in order, for --dry-run. */
export function plannedObjects(ctx: UpgradeCtx, opts: UpgradeOptions): object[] {
  const s = ctx.state as UpgradeState;
  const ns = ctx.d.namespace;
  const scale = (w: ScaledWorkload, replicas: number, why: string) => ({ step: why, patch: { apiVersion: 'apps/v1', kind: w.kind, metadata: { name: w.name, namespace: ns }, spec: { replicas } } });
  const out: object[] = [
    { step: 'fingerprint kept for validate', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ctx.names.fingerprint, namespace: ns } } },
    { step: 'record of the upgrade, updated after each phase', object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ctx.names.state, namespace: ns } } },
    ...s.apps.map((a) => scale(a, 0, 'scale the application down')),
    scale(s.workload, 0, 'stop the database'),
  ];
  if (opts.snapshot) {
    out.push({ step: 'snapshot of the stopped data volume', object: buildVolumeSnapshot({ namespace: ns, workloadKind: s.workload.kind, workloadName: s.workload.name,
      pvc: ctx.d.pvc.metadata.name, className: '<the default class of the PVC\'s CSI driver>', pgVersion: s.fromVersion, pgMajor: s.from, takenAt: new Date(),
      consistency: 'stopped', reason: `before upgrade to ${s.to}` }) });
  }
  out.push({ step: 'the upgrade Job', object: buildUpgradeJob(ctx.job) });
  if (opts.patchWorkload) {
    out.push({ step: 'point the workload at the new major', patch: { apiVersion: 'apps/v1', kind: s.workload.kind, metadata: { name: s.workload.name, namespace: ns },
      spec: { template: { spec: { containers: [{ name: s.container, image: s.targetImage }] } } } } });
  }
  out.push(scale(s.workload, s.workload.replicas, 'start the database'), ...s.apps.map((a) => scale(a, a.replicas, 'scale the application back up')));
  return out;
}

/** The hand-made change for --no-patch-workload: Helm values for the charts we know, else the patch. */
export function manualPatchAdvice(s: UpgradeState, ns: string): string {
  const r = parseImageRef(s.targetImage || s.oldImage);
  const patch = `kubectl -n ${ns} patch ${refOf(s.workload)} --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"${s.container}","image":"${s.targetImage || '<image for ' + s.to + '>'}"}]}}}}'`;
  const helm = r.repo.endsWith('bitnami/postgresql') || r.repo.endsWith('bitnamilegacy/postgresql')
    ? `\nHelm (Bitnami chart): --set image.tag=${r.tag ?? s.to} (for a subchart, prefix it: postgresql.image.tag=…)` : '';
  return `Point ${refOf(s.workload)} at PostgreSQL ${s.to} yourself (in your Helm values or Git repository, so that nothing reverts it):\n  ${patch}${helm}\n` +
    `Then run the same upgrade command again: it resumes, starts the database and the applications, and verifies the data.`;
}

/** The phases that change the cluster, each recorded when done; a resumed run skips what is done. */
export function createApplyTasks(opts: UpgradeOptions): Array<ListrTask<UpgradeCtx>> {
  const st = (ctx: UpgradeCtx) => ctx.state as UpgradeState;
  const timeout = opts.timeoutSeconds * 1000;
  return [
    {
      title: 'Fingerprint the database and keep it for validate',
      skip: (ctx) => isDone(ctx.state, 'fingerprint') && 'done in an earlier run',
      task: async (ctx, task) => {
        const fp = await timed(ctx, 'fingerprint', async () => {
          ctx.password = await readPassword(ctx.cluster, ctx.d);
          return fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
        });
        const cm: KObject = { ...fpRef(ctx), metadata: { name: ctx.names.fingerprint, namespace: ctx.d.namespace,
          labels: { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade', 'pgupgrade.kubectl.io/role': 'fingerprint' },
          annotations: { 'pgupgrade.kubectl.io/workload': `${st(ctx).workload.kind}/${st(ctx).workload.name}`, 'pgupgrade.kubectl.io/taken-at': new Date().toISOString(),
            'pgupgrade.kubectl.io/pg-version': st(ctx).fromVersion } }, ...fingerprintData(fp) };
        await ctx.cluster.deleteObject(fpRef(ctx));
        await ctx.cluster.createObject(cm);
        await record(ctx, 'fingerprint');
        const t = fingerprintTotals(fp);
        task.title = `Fingerprint the database: ${t.databases} databases, ${t.tables} tables, ${t.rows} rows; ConfigMap ${ctx.names.fingerprint}`;
      },
    },
    {
      title: 'Scale the applications down',
      skip: (ctx) => isDone(ctx.state, 'apps-down') && 'done in an earlier run',
      task: async (ctx, task) => {
        ctx.timings.downtime = Date.now();
        await timed(ctx, 'apps-down', async () => {
          for (const a of st(ctx).apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, 0);
          for (const a of ctx.d.apps) await waitPodsGone(ctx.cluster, ctx.d.namespace, a.selector, `the pods of ${refOf({ kind: a.kind, name: a.metadata.name })}`, timeout);
        });
        await record(ctx, 'apps-down');
        const apps = st(ctx).apps;
        task.title = apps.length ? `Scale the applications down: ${apps.map((a) => `${refOf(a)} (${a.replicas} → 0)`).join(', ')}` : 'Scale the applications down: none match the selector';
      },
    },
    {
      title: 'Stop the database and wait for its volume to detach',
      skip: (ctx) => isDone(ctx.state, 'db-down') && 'done in an earlier run',
      task: async (ctx, task) => {
        const t = Date.now();
        await timed(ctx, 'db-down', async () => {
          await timed(ctx, 'db-shutdown', async () => {
            await scaleTo(ctx.cluster, ctx.d.namespace, st(ctx).workload, 0);
            await waitPodsGone(ctx.cluster, ctx.d.namespace, ctx.d.workload.selector, `the database pod`, timeout);
          });
          const users = (await ctx.cluster.listPods(ctx.d.namespace)).filter((p) => p.phase !== 'Succeeded' && p.phase !== 'Failed' &&
            (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === ctx.d.pvc.metadata.name));
          if (users.length) throw new CliError(`other pods still mount PVC ${ctx.d.pvc.metadata.name}: ${users.map((p) => p.metadata.name).join(', ')}; stop them, then run the same command again to resume`, ExitCode.failed);
          const pv = ctx.d.pvc.volumeName;
          if (pv) await timed(ctx, 'volume-detach', () => waitDetached(ctx.cluster, pv, timeout));
        });
        await record(ctx, 'db-down');
        task.title = `Stop the database and wait for its volume to detach: ${((Date.now() - t) / 1000).toFixed(1)} s`;
      },
    },
    {
      title: 'Snapshot the stopped volume',
      skip: (ctx) => (!opts.snapshot ? 'SKIPPED BY --no-snapshot: if the upgrade goes wrong after the new server starts, there is no way back' : isDone(ctx.state, 'snapshot') && 'done in an earlier run'),
      task: async (ctx, task) => {
        const rec = await timed(ctx, 'snapshot', async () => {
          const classes = await ctx.cluster.snapshotClasses() ?? [];
          const cls = classes.find((c) => c.driver === ctx.d.csiDriver && c.isDefault) ?? classes.find((c) => c.driver === ctx.d.csiDriver);
          if (!cls) throw new CliError(`no VolumeSnapshotClass for the PVC's driver ${ctx.d.csiDriver}: create one, or run with --no-snapshot (no way back after the new server starts)`, ExitCode.failed);
          const snap = await createSnapshot(ctx.cluster, { namespace: ctx.d.namespace, workloadKind: st(ctx).workload.kind, workloadName: st(ctx).workload.name,
            pvc: ctx.d.pvc.metadata.name, className: cls.name, pgVersion: st(ctx).fromVersion, pgMajor: st(ctx).from, takenAt: new Date(), consistency: 'stopped',
            reason: `before upgrade to ${st(ctx).to}` });
          ctx.state = { ...st(ctx), snapshot: snap.metadata.name };
          return waitSnapshot(ctx.cluster, ctx.d.namespace, snap.metadata.name, opts.waitSnapshotReady ? 'ready' : 'cut', timeout);
        });
        await record(ctx, 'snapshot');
        task.title = `Snapshot the stopped volume: ${rec.name} cut${rec.readyToUse ? ' and ready' : '; readyToUse is awaited in the background'}`;
      },
    },
    {
      title: 'Run the upgrade Job: initdb, pg_upgrade --check, pg_upgrade, keep the configuration, swap the directories',
      skip: (ctx) => isDone(ctx.state, 'job') && 'done in an earlier run',
      task: async (ctx, task) => {
        if (st(ctx).snapshot) ctx.snapshotReady = waitSnapshot(ctx.cluster, ctx.d.namespace, st(ctx).snapshot as string, 'ready', 3600_000).catch((e: Error) => e);
        const job = buildUpgradeJob(ctx.job);
        const out = await timed(ctx, 'job', () => runJob(ctx.cluster, ctx.d.namespace, job, (t) => (task.output = t.trimEnd()), timeout));
        ctx.jobLog = out.log;
        ctx.timings['job-start'] = out.startMs;
        const took = /pgupgrade: pg_upgrade took (\d+) ms/.exec(out.log);
        if (took) ctx.timings.pg_upgrade = Number(took[1]);
        const checked = /pgupgrade: pg_upgrade --check took (\d+) ms/.exec(out.log);
        if (checked) ctx.timings['pg_upgrade-check'] = Number(checked[1]);
        if (!out.ok) {
          const ref = refOf(st(ctx).workload);
          throw new CliError(`the upgrade Job ${ctx.d.namespace}/${job.metadata.name} failed (${out.reason ?? 'exit code above'}). Its log:\n${out.log.split('\n').slice(-60).join('\n')}\n` +
            `The old cluster is where it was (a link-mode run that got past "Adding .old suffix" is undone by rollback).\n` +
            `Undo: kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${ref} --rollback\nRetry after fixing the cause: delete the Job (kubectl -n ${ctx.d.namespace} delete job ${job.metadata.name}) and run the same upgrade command`, ExitCode.failed);
        }
        await record(ctx, 'job');
        task.title = `Run the upgrade Job ${job.metadata.name}: PostgreSQL ${st(ctx).to} is in place; the old cluster is kept as ${upgradePaths(ctx.job.pgdata, st(ctx).from, st(ctx).to).kept}`;
      },
      rendererOptions: { persistentOutput: false, outputBar: 8 } as never,
    },
    {
      title: 'Point the workload at the new major',
      skip: (ctx) => isDone(ctx.state, 'workload-patched') && 'done in an earlier run',
      task: async (ctx, task) => {
        const s = st(ctx);
        const w = await ctx.cluster.readObject({ apiVersion: 'apps/v1', kind: s.workload.kind, namespace: ctx.d.namespace, name: s.workload.name });
        const current = ((w?.spec?.template?.spec?.containers ?? []) as Array<{ name: string; image?: string }>).find((c) => c.name === s.container)?.image ?? '';
        if (tagMajor(current) === s.to || (s.targetImage && current === s.targetImage)) {
          task.title = `Point the workload at the new major: it already runs ${current}`;
        } else if (!opts.patchWorkload) {
          ctx.stoppedForManualPatch = true;
          task.title = 'Point the workload at the new major: left to you (--no-patch-workload); see below';
          return;
        } else {
          await patchImage(ctx.cluster, ctx.d.namespace, s.workload, s.container, s.targetImage);
          task.title = `Point the workload at the new major: ${s.container} image ${s.oldImage} → ${s.targetImage}`;
        }
        await record(ctx, 'workload-patched');
      },
    },
    {
      title: 'Start the database on the new major and wait until it is ready',
      enabled: (ctx) => !ctx.stoppedForManualPatch,
      skip: (ctx) => isDone(ctx.state, 'db-up') && 'done in an earlier run',
      task: async (ctx, task) => {
        const s = st(ctx);
        await timed(ctx, 'db-up', async () => {
          await scaleTo(ctx.cluster, ctx.d.namespace, s.workload, s.workload.replicas);
          await waitWorkloadReady(ctx.cluster, ctx.d.namespace, s.workload, timeout);
        });
        await record(ctx, 'db-up');
        task.title = `Start the database on PostgreSQL ${s.to}: ${s.workload.replicas} replica${s.workload.replicas > 1 ? 's' : ''} ready`;
      },
    },
    {
      title: opts.verifyWhileAppsStart ? 'Verify: hold a snapshot of the data, start the applications, compare the fingerprint'
        : 'Verify: the fingerprint equals the one taken before, then update extensions',
      enabled: (ctx) => !ctx.stoppedForManualPatch,
      skip: (ctx) => isDone(ctx.state, 'verified') && 'done in an earlier run',
      task: async (ctx, task) => {
        const s = st(ctx);
        const d = await discover(ctx.cluster, ctx.d.namespace, refOf(s.workload), opts.appSelector);
        ctx.d = d;
        ctx.password ??= await readPassword(ctx.cluster, d);
        const paths = upgradePaths(ctx.job.pgdata, s.from, s.to);
        const updateExtensions = async () => {
          const r = await ctx.cluster.exec(d.namespace, liveReach(d).pod, liveReach(d).container,
            ['sh', '-c', UPDATE_EXTENSIONS_SCRIPT, 'sh', d.superuser?.user ?? 'postgres', String(d.port), paths.work], psqlStdin(ctx.password, []));
          if (r.exitCode !== 0) throw new CliError(`update_extensions.sql failed (exit ${r.exitCode}): ${r.stderr.trim()}`, ExitCode.failed);
        };
        if (s.verifyHeldAt) {
          // An earlier run let the applications start while it compared: they have written since, so the content
          // cannot be compared again. Say so; validate compares what can be.
          await record(ctx, 'verified');
          task.title = `Verify: interrupted earlier after the applications started (${s.verifyHeldAt}); the content compare cannot be repeated`;
          return;
        }
        const cm = await ctx.cluster.readObject(fpRef(ctx));
        const before = readFingerprint(cm) ?? null;
        if (!before) throw new CliError(`the fingerprint ConfigMap ${ctx.names.fingerprint} is gone; cannot verify`, ExitCode.failed);
        const t0 = Date.now();
        let held: () => void = () => undefined;
        const heldNow = new Promise<void>((r) => (held = r));
        const reading = fingerprintVia(ctx.cluster, d, liveReach(d), ctx.password, opts.verifyWhileAppsStart ? () => held() : undefined);
        if (opts.verifyWhileAppsStart) {
          await Promise.race([heldNow, reading]);
          ctx.timings.verified = Date.now() - t0;
          ctx.state = { ...s, verifyHeldAt: new Date().toISOString() };
          await saveState(ctx.cluster, ctx.d.namespace, ctx.names.state, ctx.state);
          task.title = 'Verify: snapshot of the data held; the applications start while it is compared';
          await updateExtensions();
          await timed(ctx, 'apps-up', async () => {
            for (const a of s.apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, a.replicas);
            for (const a of s.apps) await waitWorkloadReady(ctx.cluster, ctx.d.namespace, a, timeout);
          });
          if (ctx.timings.downtime && ctx.timings.downtime > 1e12) ctx.timings.downtime = Date.now() - ctx.timings.downtime;
        }
        const after = await reading;
        if (!opts.verifyWhileAppsStart) ctx.timings.verified = Date.now() - t0;
        // update_extensions.sql runs after the snapshot or the compare: extension versions are pg_upgrade's, equal to before.
        ctx.fingerprintDiff = compareFingerprints(before, after);
        const rows = (fp: Fingerprint, db: string) => Object.values(fp.perDb[db]?.tables ?? {}).reduce((n, t) => n + t.rows, 0);
        ctx.perDatabase = [...new Set([...Object.keys(before.perDb), ...Object.keys(after.perDb)])].sort()
          .map((db) => ({ database: db, tables: Object.keys(after.perDb[db]?.tables ?? {}).length, rowsBefore: rows(before, db), rowsAfter: rows(after, db) }));
        ctx.totals = fingerprintTotals(after);
        if (ctx.fingerprintDiff.length) {
          const undo = `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(s.workload)} --rollback`;
          throw new CliError(`the upgraded database differs from the fingerprint taken before the upgrade:\n  ${ctx.fingerprintDiff.join('\n  ')}\n` +
            (opts.verifyWhileAppsStart ? `The applications were started meanwhile (--verify-while-apps-start): stop them now, look, then undo (their writes since are lost): ${undo}`
              : `The applications stay scaled down. Look, then undo: ${undo}`), ExitCode.failed);
        }
        if (!opts.verifyWhileAppsStart) await updateExtensions();
        await record(ctx, 'verified');
        task.title = `Verify: equal fingerprints (${ctx.totals?.databases} databases, ${ctx.totals?.tables} tables, ${ctx.totals?.rows} rows)` +
          (opts.verifyWhileAppsStart ? ', read from the snapshot held before the applications started' : '');
      },
    },
    {
      title: 'Scale the applications back up and wait for their rollouts',
      enabled: (ctx) => !ctx.stoppedForManualPatch,
      skip: (ctx) => isDone(ctx.state, 'apps-up') && 'done in an earlier run',
      task: async (ctx, task) => {
        const s = st(ctx);
        if (!opts.verifyWhileAppsStart) {
          await timed(ctx, 'apps-up', async () => {
            for (const a of s.apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, a.replicas);
            for (const a of s.apps) await waitWorkloadReady(ctx.cluster, ctx.d.namespace, a, timeout);
          });
        } else {
          // Started during verify; after a resume they are scaled here, which is idempotent.
          for (const a of s.apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, a.replicas);
          for (const a of s.apps) await waitWorkloadReady(ctx.cluster, ctx.d.namespace, a, timeout);
        }
        if (ctx.timings.downtime && ctx.timings.downtime > 1e12) ctx.timings.downtime = Date.now() - ctx.timings.downtime;
        await record(ctx, 'apps-up');
        task.title = s.apps.length ? `Scale the applications back up: ${s.apps.map((a) => `${refOf(a)} (${a.replicas})`).join(', ')} ready` : 'Scale the applications back up: none to scale';
      },
    },
    {
      title: 'Rebuild the planner statistics (vacuumdb --analyze-in-stages) while the applications run',
      enabled: (ctx) => !ctx.stoppedForManualPatch,
      skip: (ctx) => isDone(ctx.state, 'done') && 'done in an earlier run',
      task: async (ctx, task) => {
        const s = st(ctx);
        const t = Date.now();
        const d = ctx.d;
        ctx.password ??= await readPassword(ctx.cluster, d);
        const r = await ctx.cluster.exec(d.namespace, liveReach(d).pod, liveReach(d).container,
          ['sh', '-c', ANALYZE_SCRIPT, 'sh', d.superuser?.user ?? 'postgres', String(d.port), String(s.to)], psqlStdin(ctx.password, []));
        if (r.exitCode !== 0) throw new CliError(`vacuumdb failed (exit ${r.exitCode}): ${r.stderr.trim()}; the upgrade itself is done: run it again by hand`, ExitCode.failed);
        const snap = ctx.snapshotReady ? await ctx.snapshotReady : undefined;
        await record(ctx, 'done');
        task.title = `Rebuild the planner statistics: ${((Date.now() - t) / 1000).toFixed(1)} s` +
          (snap instanceof Error ? `; the snapshot did NOT become ready: ${snap.message}` : snap ? `; snapshot ${snap.name} is ready to use` : '');
      },
    },
  ];
}
