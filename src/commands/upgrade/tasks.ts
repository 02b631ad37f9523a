import type { ListrTask } from 'listr2';
import type { Cluster } from '../../k8s/cluster.ts';
import { clientsNote } from '../../discovery/clients.ts';
import { evaluate, plan } from '../../preflight/evaluate.ts';
import { modeOf } from '../../server/gather.ts';
import { probeIdentity } from '../../probe/probe.ts';
import { evidenceOf } from '../../preflight/evidence.ts';
import { blockingError, CliError, ExitCode, usageError } from '../../exit-codes.ts';
import { bitnamiTargetNote, noUpgradeImageAdvice, targetImageFor, upgradeImageFor } from '../../postgres/images.ts';
import { verifyImageFlags } from '../../postgres/image-flags.ts';
import { initdbOptions } from '../../postgres/rules.ts';
import { removedSettings } from '../../postgres/upgrade-script.ts';
import { multiReplicaProblem, refOf, tagMajor } from '../../postgres/workload.ts';
import {
  bindingProblemOf,
  isDone,
  parseState,
  resumeProblem,
  upgradeNames,
  type ScaledWorkload,
  type UpgradeState,
} from '../../state/state.ts';
import { connectTask } from '../../connect-task.ts';
import { incompatibleAdvice, incompatibleImage } from '../../discovery/crash-loop.ts';
import { discoverWithApps, podsOutside } from '../../discovery/named-apps.ts';
import { createCheckTasks } from '../../preflight/tasks.ts';
import { rollingStrategyOf } from '../../postgres/strategy.ts';
import type { UpgradeCtx, UpgradeOptions } from './ctx.ts';
import { judgeGitops } from './gitops.ts';
import { relayoutFor } from '../../postgres/relayout.ts';
import { dumpStateName, inPlaceOverDumpProblem, parseDumpState } from '../../state/dump-state.ts';
import { failedRehearsalProblem, parseRehearsalRecord } from '../../postgres/rehearsal.ts';
import { readRecordMap } from '../../state/store.ts';

export type { UpgradeCtx, UpgradeOptions } from './ctx.ts';
export { createApplyTasks } from './apply.ts';

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

/** Whether the preflight runs: not on a resumed run, and for a crash-looping bumped image only once it is stopped. */
const planning = (ctx: UpgradeCtx): boolean =>
  !ctx.resuming && !ctx.nothingToDo && (!ctx.bumped || !!ctx.bumpedStopped);

/** The read-only part: find the workload and any recorded upgrade, run check's blocking checks, make the plan. */
export function createPlanTasks(connect: () => Promise<Cluster>, opts: UpgradeOptions): Array<ListrTask<UpgradeCtx>> {
  const checkOpts = {
    workload: opts.workload,
    to: opts.to,
    method: opts.method,
    appSelector: opts.appSelector,
    image: opts.jobImage,
    workloadImage: opts.image,
    superuserSecret: opts.superuserSecret,
  };
  return [
    connectTask<UpgradeCtx>(connect),
    {
      title: 'Find the PostgreSQL workload and any upgrade already under way',
      task: async (ctx, task) => {
        ctx.timings = {};
        // A bad --app is bad input whatever the record says: checked first.
        ctx.d = await discoverWithApps(ctx.cluster, ctx.cluster.namespace, opts.workload, opts);
        ctx.names = upgradeNames(ctx.d.workload.metadata.name, opts.to);
        const cm = await readRecordMap(ctx.cluster, ctx.d.namespace, ctx.names.state);
        ctx.stateVersion = cm?.metadata.resourceVersion;
        const state = parseState(cm);
        if (state?.phase === 'done' && state.to === opts.to && tagMajor(ctx.d.image) === opts.to) {
          ctx.nothingToDo =
            `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} was upgraded to PostgreSQL ${opts.to} already ` +
            `(${state.history.at(-1)?.at ?? 'earlier'}); nothing to do`;
          task.title = `Find the PostgreSQL workload: already upgraded to ${opts.to}`;
          return;
        }
        if (state && state.phase !== 'done') {
          const bound = bindingProblemOf(state, ctx.d, ctx.d.namespace, ctx.names.state);
          if (bound) throw usageError(bound);
          const problem = resumeProblem(state, opts.to, opts.method, ctx.d.namespace);
          if (problem) throw usageError(problem);
          ctx.state = state;
          ctx.resuming = true;
          ctx.job = state.jobSpec;
          // Resumed before the applications stop: the controllers are judged again (an interrupted run put back what it paused).
          if (!isDone(state, 'apps-down')) await judgeGitops(ctx, opts);
          task.title = `Found an upgrade of ${refOf(state.workload)} from ${state.from} to ${state.to} stopped after "${state.phase}": resuming it`;
          return;
        }
        const dumpName = dumpStateName(ctx.d.workload.metadata.name);
        const byDump = parseDumpState(await readRecordMap(ctx.cluster, ctx.d.namespace, dumpName));
        const overDump = inPlaceOverDumpProblem(
          byDump,
          ctx.d.workload.metadata.uid,
          ctx.d.namespace,
          dumpName,
          !!opts.discardDumpRollback,
        );
        if (overDump) throw usageError(overDump);
        const multi = multiReplicaProblem(ctx.d.workload, ctx.d.namespace);
        if (multi) throw usageError(multi);
        // Argo CD or Flux would scale the database or its applications back up while they are down: refused before any downtime.
        await judgeGitops(ctx, opts);
        const relayout = relayoutFor(ctx.d, opts.to);
        if (relayout === 'bitnami') {
          throw usageError(
            `PGDATA ${ctx.d.pgdata} is the root of the volume: an in-place upgrade puts the new cluster beside the old one on the same ` +
              `filesystem and swaps the directories, which a mount point cannot be. Set POSTGRESQL_DATA_DIR to a subdirectory (e.g. ${ctx.d.mountPath}/data) first`,
          );
        }
        ctx.relayout = relayout;
        const bitnami = bitnamiTargetNote(ctx.d.image, opts.to);
        if (opts.patchWorkload && !opts.image && bitnami && !bitnami.image) {
          throw usageError(
            `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} runs ${ctx.d.image}. ${bitnami.note}: ${bitnami.fix}; nothing was changed`,
          );
        }
        if (opts.patchWorkload && !opts.image && !targetImageFor(ctx.d.image, opts.to)) {
          throw usageError(
            `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} runs ${ctx.d.image}, a vendor's repository ` +
              `(${ctx.d.flavour === 'vendor' ? 'layout unknown' : `${ctx.d.flavour} layout`}: ${ctx.d.layoutEvidence}) whose tag for PostgreSQL ${opts.to} the ` +
              `plugin cannot know: pass --image <the vendor's image for ${opts.to}>, or --no-patch-workload to change it yourself`,
          );
        }
        if (
          ctx.d.pvc.accessModes.length &&
          !ctx.d.pvc.accessModes.some((m) => m === 'ReadWriteOnce' || m === 'ReadWriteOncePod')
        ) {
          throw usageError(
            `PVC ${ctx.d.namespace}/${ctx.d.pvc.metadata.name} is ${ctx.d.pvc.accessModes.join(', ')}, not ReadWriteOnce: other pods could ` +
              `mount it while pg_upgrade runs; an in-place upgrade needs a volume that only the database mounts`,
          );
        }
        ctx.resuming = false;
        const inc = ctx.bumpedStopped ? undefined : await incompatibleImage(ctx.cluster, ctx.d);
        if (inc) {
          // The image was moved to a newer major and the server refuses the data: upgrade the data to the image's major.
          if (opts.to !== inc.serverMajor)
            throw usageError(`${incompatibleAdvice(ctx.d, inc)}
--to ${opts.to} is not the image's major; nothing was changed`);
          if (!targetImageFor(ctx.d.image, inc.dataMajor)) {
            throw usageError(
              `${incompatibleAdvice(ctx.d, inc)}
The upgrade needs an image of PostgreSQL ${inc.dataMajor} to read the data as it is (and for a rollback), and ` +
                `cannot tell which one of ${ctx.d.image.split(':')[0]}: set the workload's image back to your PostgreSQL ${inc.dataMajor} image, then run upgrade ` +
                `--to ${inc.serverMajor} --image ${ctx.d.image}; nothing was changed`,
            );
          }
          ctx.bumped = { ...inc, replicas: Math.max(ctx.d.workload.replicas, 1) };
          ctx.dataMajor = inc.dataMajor;
          task.title =
            `Find the PostgreSQL workload: pod ${ctx.d.pod?.metadata.name} crash-loops, its image runs PostgreSQL ${inc.serverMajor} and the data is ` +
            `${inc.dataMajor}: it is stopped first, once you confirm`;
          return;
        }
        ctx.mode = modeOf(ctx.d);
        if (ctx.mode === 'offline' && !opts.snapshot) {
          throw usageError(
            `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} is stopped: its reference fingerprint can only be read ` +
              `from the snapshot of its volume, which --no-snapshot skips. Run without --no-snapshot; nothing was changed`,
          );
        }
        task.title =
          `Find the PostgreSQL workload: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, PVC ${ctx.d.pvc.metadata.name}, ` +
          (ctx.mode === 'live'
            ? `pod ${ctx.d.pod?.metadata.name}`
            : 'stopped (0 replicas): read through a probe pod on its volume, started on the new major to verify') +
          clientsNote(ctx.d.clients);
      },
    },
    {
      title: 'Preflight: the blocking checks of check',
      enabled: planning,
      task: (_ctx, task) =>
        task.newListr(createCheckTasks(connect, checkOpts).slice(2) as unknown as Array<ListrTask<UpgradeCtx>>, {
          exitOnError: true,
        }),
    },
    {
      title: 'Judge the preflight and plan the upgrade',
      enabled: planning,
      task: async (ctx, task) => {
        const evidence = evidenceOf(ctx, checkOpts);
        const findings = evaluate(evidence);
        ctx.estimate = plan(evidence).estimate;
        if (opts.method === 'clone' && ctx.volume?.reflink === false) {
          throw usageError(
            `--method clone needs a filesystem that can clone files (reflinks: XFS, Btrfs); the volume of PVC ${ctx.d.pvc.metadata.name} ` +
              `(${ctx.volume.fsType}) cannot. Use --method link (no data copied) or copy; nothing was changed`,
          );
        }
        const rehearsalRef = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: ctx.d.namespace,
          name: ctx.names.rehearsal,
        };
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
        const server = ctx.server;
        if (!server || !ctx.volume)
          throw new CliError('the preflight could not read the server or the volume', ExitCode.failed);
        const from = Math.floor(server.versionNum / 10000);
        const badImage = verifyImageFlags(opts.image, opts.jobImage, opts.to, from);
        if (badImage) throw usageError(`${badImage}; nothing was changed`);
        const jobImage = opts.jobImage ?? upgradeImageFor(from, opts.to);
        if (!jobImage) throw usageError(`${noUpgradeImageAdvice(from, opts.to)}; nothing was changed`);
        const { uid, gid } =
          ctx.volume.data.uid > 0 ? { uid: ctx.volume.data.uid, gid: ctx.volume.data.gid } : probeIdentity(ctx.d);
        const w: ScaledWorkload = {
          kind: ctx.d.workload.kind,
          name: ctx.d.workload.metadata.name,
          replicas: ctx.bumped?.replicas ?? Math.max(ctx.d.workload.replicas, 1),
        };
        // A workload whose image already runs a newer major (bumped): the old major's image of the same repository.
        const oldImage =
          tagMajor(ctx.d.image) === from ? ctx.d.image : (targetImageFor(ctx.d.image, from) ?? ctx.d.image);
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
          uid,
          gid,
          ...(ctx.relayout
            ? { mountPath: ctx.relayout.toMount, pgdata: ctx.relayout.pgdata, root: ctx.relayout.toMount }
            : {}),
        };
        const state: UpgradeState = {
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
          jobImage: ctx.job.image,
          apps: ctx.d.apps.map((a) => ({ kind: a.kind, name: a.metadata.name, replicas: a.replicas })),
          snapshot: null,
          fingerprintConfigMap: ctx.names.fingerprint,
          job: ctx.names.job,
          phase: 'preflight',
          history: [],
          jobSpec: ctx.job,
          ...(ctx.relayout ? { relayout: ctx.relayout } : {}),
          ...withStrategy(rollingStrategyOf(ctx.d.workload)),
        };
        ctx.state = state;
        ctx.warnings = findings
          .filter((f) => f.status === 'warn')
          .map((f) => ({ id: f.id, found: f.found, fix: f.fix }));
        ctx.leftRunning = await connectedOutside(ctx);
        const warn = ctx.warnings.length;
        task.title =
          `Judge the preflight and plan the upgrade: ${findings.length - warn - findings.filter((f) => f.status === 'fail').length} passed, ${warn} warnings` +
          `${opts.force.length ? `, forced past: ${opts.force.join(', ')}` : ''}; PostgreSQL ${server.version} → ${opts.to} by --${opts.method}`;
      },
    },
  ];
}
