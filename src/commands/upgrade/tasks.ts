import type { ListrTask } from 'listr2';
import type { Cluster } from '../../k8s/cluster.ts';
import { discover } from '../../discovery/discover.ts';
import { clientsNote } from '../../discovery/clients.ts';
import { evaluate, plan } from '../../preflight/evaluate.ts';
import { modeOf } from '../../server/gather.ts';
import { probeIdentity } from '../../probe/probe.ts';
import { evidenceOf } from '../../preflight/evidence.ts';
import { blockingError, CliError, ExitCode, usageError } from '../../exit-codes.ts';
import { buildUpgradeJob } from '../../manifests/upgrade-job.ts';
import { buildRestorePvc, buildVolumeSnapshot, derivedName } from '../../manifests/snapshot.ts';
import { bitnamiTargetNote, noUpgradeImageAdvice, targetImageFor, upgradeImageFor, parseImageRef, verifyImageFlags } from '../../postgres/images.ts';
import { initdbOptions } from '../../postgres/rules.ts';
import { removedSettings } from '../../postgres/upgrade-script.ts';
import { multiReplicaProblem, refOf, tagMajor } from '../../postgres/workload.ts';
import { bindingProblem, parseState, resumeProblem, upgradeNames, type ScaledWorkload, type UpgradeState } from '../../state/state.ts';
import { connectTask } from '../../connect-task.ts';
import { createCheckTasks } from '../../preflight/tasks.ts';
import { type UpgradeCtx, type UpgradeOptions } from './ctx.ts';

export type { UpgradeCtx, UpgradeOptions } from './ctx.ts';
export { createApplyTasks } from './apply.ts';


/** The read-only part: find the workload and any recorded upgrade, run check's blocking checks, make the plan. */
export function createPlanTasks(connect: () => Promise<Cluster>, opts: UpgradeOptions): Array<ListrTask<UpgradeCtx>> {
  const checkOpts = { workload: opts.workload, to: opts.to, method: opts.method, appSelector: opts.appSelector, image: opts.jobImage, workloadImage: opts.image, superuserSecret: opts.superuserSecret };
  return [
    connectTask<UpgradeCtx>(connect),
    {
      title: 'Find the PostgreSQL workload and any upgrade already under way',
      task: async (ctx, task) => {
        ctx.timings = {};
        ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, opts.appSelector, opts);
        ctx.names = upgradeNames(ctx.d.workload.metadata.name, opts.to);
        const cm = await ctx.cluster.readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ctx.d.namespace, name: ctx.names.state });
        ctx.stateVersion = cm?.metadata.resourceVersion;
        const state = parseState(cm);
        if (state?.phase === 'done' && state.to === opts.to && tagMajor(ctx.d.image) === opts.to) {
          ctx.nothingToDo = `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} was upgraded to PostgreSQL ${opts.to} already ` +
            `(${state.history.at(-1)?.at ?? 'earlier'}); nothing to do`;
          task.title = `Find the PostgreSQL workload: already upgraded to ${opts.to}`;
          return;
        }
        if (state && state.phase !== 'done') {
          const bound = bindingProblem(state, { kind: ctx.d.workload.kind, name: ctx.d.workload.metadata.name, uid: ctx.d.workload.metadata.uid, pvc: ctx.d.pvc.metadata.name },
            ctx.d.namespace, ctx.names.state);
          if (bound) throw usageError(bound);
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
        const bitnami = bitnamiTargetNote(ctx.d.image, opts.to);
        if (opts.patchWorkload && !opts.image && bitnami && !bitnami.image) {
          throw usageError(`${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} runs ${ctx.d.image}. ${bitnami.note}: ${bitnami.fix}; nothing was changed`);
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
        task.title = `Find the PostgreSQL workload: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, PVC ${ctx.d.pvc.metadata.name}, pod ${ctx.d.pod?.metadata.name}` +
          clientsNote(ctx.d.clients);
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
        const jobImage = opts.jobImage ?? upgradeImageFor(from, opts.to);
        if (!jobImage) throw usageError(`${noUpgradeImageAdvice(from, opts.to)}; nothing was changed`);
        const { uid, gid } = ctx.volume.data.uid > 0 ? { uid: ctx.volume.data.uid, gid: ctx.volume.data.gid } : probeIdentity(ctx.d);
        const w: ScaledWorkload = { kind: ctx.d.workload.kind, name: ctx.d.workload.metadata.name, replicas: Math.max(ctx.d.workload.replicas, 1) };
        ctx.job = {
          name: ctx.names.job, namespace: ctx.d.namespace, workload: `${w.kind}/${w.name}`, image: jobImage,
          claim: ctx.d.pvc.metadata.name, mountPath: ctx.d.mountPath, pgdata: server.dataDirectory || ctx.d.pgdata, from, to: opts.to, method: opts.method,
          installUser: server.installUser, removedSettings: removedSettings(from, opts.to), initdb: initdbOptions(server, opts.to), uid, gid,
        };
        const state: UpgradeState = {
          version: 1, workload: w, workloadUid: ctx.d.workload.metadata.uid ?? '', pvc: ctx.d.pvc.metadata.name, container: ctx.d.container.name, from, fromVersion: server.version.split(' ')[0] ?? server.version, to: opts.to, method: opts.method,
          oldImage: ctx.d.image, targetImage: opts.image ?? targetImageFor(ctx.d.image, opts.to) ?? '', jobImage: ctx.job.image,
          apps: ctx.d.apps.map((a) => ({ kind: a.kind, name: a.metadata.name, replicas: a.replicas })),
          snapshot: null, fingerprintConfigMap: ctx.names.fingerprint, job: ctx.names.job, phase: 'preflight', history: [], jobSpec: ctx.job,
        };
        ctx.state = state;
        ctx.warnings = findings.filter((f) => f.status === 'warn').map((f) => ({ id: f.id, found: f.found, fix: f.fix }));
        const warn = ctx.warnings.length;
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
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
  const out: object[] = [
    { step: 'record of the upgrade, updated after each phase', object: cm(ctx.names.state) },
    ...s.apps.map((a) => scale(a, 0, 'scale the application down')),
  ];
  if (!opts.snapshot) out.push({ step: 'reference fingerprint, read from the server once the applications are down (--no-snapshot)', object: cm(ctx.names.fingerprint) });
  out.push(scale(s.workload, 0, 'stop the database'));
  if (opts.snapshot) {
    const snap = buildVolumeSnapshot({ namespace: ns, workloadKind: s.workload.kind, workloadName: s.workload.name,
      pvc: ctx.d.pvc.metadata.name, className: '<the default class of the PVC\'s CSI driver>', pgVersion: s.fromVersion, pgMajor: s.from, takenAt: new Date(),
      consistency: 'stopped', reason: `before upgrade to ${s.to}` });
    out.push({ step: 'snapshot of the stopped data volume', object: snap },
      { step: 'while the Job runs, the snapshot restored to a temporary PVC, read by a throwaway pod, both deleted',
        object: buildRestorePvc({ name: derivedName(snap.metadata.name, 'reference-<random>'), namespace: ns, snapshot: snap.metadata.name, storageClassName: ctx.d.pvc.storageClassName,
          bytes: ctx.d.pvc.capacityBytes ?? 0, role: 'snapshot-reference' }) },
      { step: 'reference fingerprint, read from the snapshot', object: cm(ctx.names.fingerprint) });
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
    ? `\nHelm (Bitnami chart): --set image.repository=${r.repo},image.tag=${r.tag ?? s.to}` +
      `${r.repo === 'bitnamilegacy/postgresql' ? ',global.security.allowInsecureImages=true' : ''} (for a subchart, prefix image.*: postgresql.image.tag=…)` : '';
  return `Point ${refOf(s.workload)} at PostgreSQL ${s.to} yourself (in your Helm values or Git repository, so that nothing reverts it):\n  ${patch}${helm}\n` +
    `Then run the same upgrade command again: it resumes, starts the database and the applications, and verifies the data.`;
}

