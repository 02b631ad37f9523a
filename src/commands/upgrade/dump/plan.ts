import type { ListrTask } from 'listr2';
import type { Cluster, KObject } from '../../../k8s/cluster.ts';
import { connectTask } from '../../../connect-task.ts';
import { discoverWithApps, podsOutside } from '../../../discovery/named-apps.ts';
import { sessionsLeft } from '../../../postgres/source-sessions.ts';
import { readSuperuser } from '../../../discovery/credentials.ts';
import { blockingError, CliError, ExitCode, usageError } from '../../../exit-codes.ts';
import { buildDumpTarget, dumpTargetSecret, targetSize, targetSizeProblem } from '../../../manifests/dump-target.ts';
import {
  NO_VOLUME,
  sourceDataBytes,
  SUPERUSER_SECRET_KEY,
  superuserSecretName,
} from '../../../postgres/dump-source.ts';
import { DUMP_SOURCE, volumeNote } from '../../../discovery/discover.ts';
import { chooseJobs, loadSettings } from '../../../postgres/dump-plan.ts';
import { targetImageFor } from '../../../postgres/images.ts';
import { localeOptions } from '../../../postgres/rules.ts';
import { judgeGitops } from '../gitops.ts';
import { ownerKey } from '../../../postgres/gitops-pause.ts';
import type { ManagedObject } from '../../../postgres/gitops.ts';
import { multiReplicaProblem, refOf } from '../../../postgres/workload.ts';
import { evaluate } from '../../../preflight/evaluate.ts';
import { evidenceOf } from '../../../preflight/evidence.ts';
import { createCheckTasks } from '../../../preflight/tasks.ts';
import { modeOf } from '../../../server/gather.ts';
import { dumpStateName, isDumpDone, parseDumpState, type DumpState } from '../../../state/dump-state.ts';
import { parseState, upgradeNames } from '../../../state/state.ts';
import type { DumpCtx, DumpOptions } from './ctx.ts';
import { sourceServices } from './identity.ts';
import { existingTargetRecord, resumeExisting, verifyExistingTarget } from './existing.ts';
import { dumpReferenceName } from '../../../state/dump-state.ts';
import { readRecordMap } from '../../../state/store.ts';

const planning = (ctx: DumpCtx): boolean => !ctx.resuming && !ctx.nothingToDo;

/** The Services the cutover will point at the new instance, as GitOps sees them (their owners are judged and named too). */
async function cutoverServices(ctx: DumpCtx, cutover: boolean): Promise<ManagedObject[]> {
  if (!cutover) return [];
  ctx.cutoverServices = (await sourceServices(ctx.cluster, ctx.d)).map((s) => ({
    kind: 'Service' as const,
    metadata: s.metadata,
  }));
  return ctx.cutoverServices;
}

/** The record found: nothing to do, a refusal, or a run to resume. */
function judgeRecord(ctx: DumpCtx, s: DumpState, opts: DumpOptions): void {
  const ns = ctx.d.namespace;
  if (s.workloadUid !== ctx.d.workload.metadata.uid) {
    throw usageError(
      `ConfigMap ${ns}/${ctx.stateName} records an upgrade by dump of another ${s.workload.kind} ${s.workload.name} (UID ${s.workloadUid}); ` +
        `look at it (kubectl -n ${ns} get configmap ${ctx.stateName} -o yaml) and delete it if no upgrade is under way; nothing was changed`,
    );
  }
  if (s.phase === 'done' && s.to === opts.to) {
    ctx.nothingToDo = `${refOf(s.workload)} in ${ns} was upgraded by dump to PostgreSQL ${s.to} already: ${s.target.kind} ${s.target.name} serves it; nothing to do`;
    return;
  }
  if (s.phase === 'done' || s.phase === 'rolled-back' || s.to !== opts.to) {
    // An existing target (--target) is not the plugin's: its objects are never in the list to delete.
    const made = s.target.existing
      ? ''
      : `${s.target.kind.toLowerCase()}/${s.target.name} service/${s.target.service} pvc/${s.target.pvc} ` +
        (s.target.secret ? `secret/${s.target.secret} ` : '');
    throw usageError(
      `ConfigMap ${ns}/${ctx.stateName} records an upgrade by dump to ${s.to} (phase "${s.phase}"). ` +
        (s.to === opts.to ? '' : `Resume it with --to ${s.to}, or `) +
        `remove it${
          s.target.existing
            ? ` (the existing ${s.target.kind} ${s.target.name} it loaded into is not the plugin's: it stays)`
            : ' and its new instance'
        } first: kubectl -n ${ns} delete ${made}configmap/${ctx.stateName} ` +
        `configmap/${dumpReferenceName(ctx.stateName)} --ignore-not-found; nothing was changed` +
        (s.pausedOwners?.length && !s.ownersResumedAt
          ? `. It left ${s.pausedOwners.map(ownerKey).join(', ')} paused, with the values to put back: ` +
            `--rollback puts them back; deleting the record loses them`
          : ''),
    );
  }
  ctx.state = s;
  ctx.resuming = true;
}

/** The objects of the new instance that exist already: a new run never adopts them. */
async function existingTargetObjects(cluster: Cluster, objs: KObject[]): Promise<string[]> {
  const found = await Promise.all(
    objs.map((o) =>
      cluster.readObject({
        apiVersion: o.apiVersion,
        kind: o.kind,
        namespace: o.metadata.namespace,
        name: o.metadata.name,
      }),
    ),
  );
  return objs.filter((_, i) => found[i]).map((o) => `${o.kind} ${o.metadata.name}`);
}

/** The read-only part: the source, any recorded dump upgrade, check's blocking checks for --method dump, the new instance's plan. */
export function createDumpPlanTasks(connect: () => Promise<Cluster>, opts: DumpOptions): Array<ListrTask<DumpCtx>> {
  const checkOpts = {
    workload: opts.workload,
    to: opts.to,
    method: 'dump' as const,
    appSelector: opts.appSelector,
    image: opts.targetImage,
    superuserSecret: opts.superuserSecret,
  };
  return [
    connectTask<DumpCtx>(connect),
    {
      title: 'Find the PostgreSQL workload and any upgrade by dump already under way',
      task: async (ctx, task) => {
        ctx.timings = {};
        ctx.globalsNotes = [];
        ctx.resuming = false;
        ctx.d = await discoverWithApps(ctx.cluster, ctx.cluster.namespace, opts.workload, opts, DUMP_SOURCE);
        ctx.stateName = dumpStateName(ctx.d.workload.metadata.name);
        const cm = await readRecordMap(ctx.cluster, ctx.d.namespace, ctx.stateName);
        ctx.stateVersion = cm?.metadata.resourceVersion;
        const recorded = parseDumpState(cm);
        if (recorded) judgeRecord(ctx, recorded, opts);
        // A run resumed before the applications stop judges the controllers again: the first may have stopped before it paused them.
        if (ctx.resuming && !isDumpDone(ctx.state, 'apps-down'))
          await judgeGitops(ctx, opts, await cutoverServices(ctx, !!ctx.state?.cutover));
        if (ctx.nothingToDo || ctx.resuming) {
          task.title =
            ctx.nothingToDo ??
            `Found an upgrade by dump to ${ctx.state?.to} stopped after "${ctx.state?.phase}": resuming it`;
          return;
        }
        const inPlace = parseState(
          await readRecordMap(ctx.cluster, ctx.d.namespace, upgradeNames(ctx.d.workload.metadata.name, opts.to).state),
        );
        if (inPlace && inPlace.phase !== 'done') {
          throw usageError(
            `an in-place upgrade of ${refOf(inPlace.workload)} to ${inPlace.to} stopped after "${inPlace.phase}": finish it (--method ${inPlace.method}) ` +
              `or undo it (--rollback) first; nothing was changed`,
          );
        }
        const multi = multiReplicaProblem(ctx.d.workload, ctx.d.namespace);
        if (multi) throw usageError(multi);
        // Argo CD or Flux would scale the database or its applications back up while they are down: refused before any downtime.
        await judgeGitops(ctx, opts, await cutoverServices(ctx, opts.cutover));
        ctx.mode = modeOf(ctx.d);
        if (ctx.mode !== 'live') {
          throw usageError(
            `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} is stopped: --method dump reads the running server. ` +
              `Scale it up first; nothing was changed`,
          );
        }
        if (opts.target) ctx.existing = await verifyExistingTarget(ctx.cluster, ctx.d, opts.target, opts.to);
        task.title = `Find the PostgreSQL workload: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, pod ${ctx.d.pod?.metadata.name}, ${volumeNote(ctx.d)}`;
      },
    },
    {
      title: 'Preflight: the blocking checks of check, for --method dump',
      enabled: planning,
      task: (_ctx, task) =>
        task.newListr(createCheckTasks(connect, checkOpts).slice(2) as unknown as Array<ListrTask<DumpCtx>>, {
          exitOnError: true,
        }),
    },
    {
      title: 'Judge the preflight and plan the new instance',
      enabled: (ctx) => !ctx.nothingToDo,
      task: async (ctx, task) => {
        if (!ctx.password || !ctx.d.superuser) ctx.password = (await readSuperuser(ctx.cluster, ctx.d)).password;
        if (ctx.state?.target.existing)
          ctx.existing = await resumeExisting(
            ctx.cluster,
            ctx.d.namespace,
            ctx.state.target,
            opts.timeoutSeconds * 1000,
          );
        const s = ctx.state ?? (await newState(ctx, opts, checkOpts));
        ctx.state = s;
        const built = buildDumpTarget({
          namespace: ctx.d.namespace,
          source: { workload: ctx.d.workload, container: ctx.d.container, flavour: ctx.d.flavour, pvc: ctx.d.pvc },
          major: s.to,
          image: s.target.image,
          superuser: {
            user: s.target.superuser,
            secret: ctx.existing ? { name: '', key: '' } : targetSecretOf(ctx, s),
          },
          storageClass: opts.storageClass,
          size: s.target.size ?? opts.size,
          md5Logins: s.target.md5Logins,
          initdbArgs: s.target.initdb,
          serviceSelectors: s.services.map((x) => x.before.selector),
        });
        // An existing target: only its pods' selector is used (its own objects are never made, changed or deleted).
        ctx.target = ctx.existing ? { ...built, name: s.target.name, cutoverSelector: ctx.existing.selector } : built;
        if (!ctx.resuming && !ctx.existing) {
          const secret = s.target.secret ? [dumpTargetSecret(ctx.d.namespace, s.target.name, refOf(s.workload))] : [];
          const there = await existingTargetObjects(ctx.cluster, [
            ...secret,
            ctx.target.pvc,
            ctx.target.service,
            ctx.target.workload,
          ]);
          if (there.length) {
            throw usageError(
              `the new instance's ${there.join(', ')} exist${there.length > 1 ? '' : 's'} already in ${ctx.d.namespace}, with no record of an upgrade ` +
                `by dump: delete ${there.length > 1 ? 'them' : 'it'} if nothing needs ${there.length > 1 ? 'them' : 'it'}; nothing was changed`,
            );
          }
        }
        task.title =
          `Plan: ${refOf(s.workload)} (PostgreSQL ${s.fromVersion}) → ${
            ctx.existing
              ? `existing ${s.target.kind} ${s.target.name} (PostgreSQL ${ctx.existing.version}, empty)`
              : `new ${s.target.kind} ${s.target.name} (${s.target.image}, PVC ${s.target.pvc})`
          }, ` + `Services to cut over: ${s.services.map((x) => x.name).join(', ') || 'none'}`;
      },
    },
  ];
}

/**
 * The Secret that the new instance reads its superuser's password from: the source's, or, where the source had it
 * written in its manifest, the one this upgrade creates (its name recorded; the value is the password read, never
 * written into a manifest). Exit 2 when there is neither.
 */
function targetSecretOf(ctx: DumpCtx, s: DumpState): { name: string; key: string } {
  if (s.target.secret) return { name: s.target.secret, key: SUPERUSER_SECRET_KEY };
  const secret = ctx.d.superuser?.secret;
  if (secret) return secret;
  throw usageError(
    `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name}: the superuser's password is in no Secret that the new instance ` +
      `could read; put it in a Secret (or pass --superuser-secret <secret>/<key>); nothing was changed`,
  );
}

/** --size against the source PVC's request, and --storage-class against the cluster's classes: refused (exit 2) before any change. */
export async function verifyTargetStorage(ctx: DumpCtx, opts: DumpOptions): Promise<void> {
  const small = targetSizeProblem(opts.size, ctx.d.pvc, ctx.d.namespace);
  if (small) throw usageError(small);
  if (opts.storageClass === undefined || (await ctx.cluster.storageClassProvisioner(opts.storageClass)) !== undefined)
    return;
  throw usageError(
    `--storage-class ${opts.storageClass}: the cluster has no StorageClass of that name, so the new PVC would never be bound; ` +
      `pass one that kubectl get storageclass lists, or leave --storage-class out (the source PVC's class); nothing was changed`,
  );
}

/** Judges check's findings and makes the record of a new upgrade by dump. */
async function newState(
  ctx: DumpCtx,
  opts: DumpOptions,
  checkOpts: Parameters<typeof evidenceOf>[1],
): Promise<DumpState> {
  const findings = evaluate(evidenceOf(ctx, checkOpts));
  // Not a check --force may pass: the load itself would run a user's code as the new instance's superuser.
  const code = findings.find((f) => f.id === 'load-code' && f.status === 'fail');
  if (code) throw usageError(`--method dump refused: ${code.found}. Fix: ${code.fix}. Nothing was changed`);
  const blocking = findings.filter((f) => f.status === 'fail' && !opts.force.includes(f.id));
  if (blocking.length) {
    throw blockingError(
      `preflight failed; nothing was changed:\n${blocking.map((f) => `  ${f.id}: ${f.found}${f.fix ? `\n    fix: ${f.fix}` : ''}`).join('\n')}\n` +
        `(--force <id> goes on despite one of them, at your own risk)`,
    );
  }
  ctx.warnings = findings.filter((f) => f.status === 'warn').map((f) => ({ id: f.id, found: f.found, fix: f.fix }));
  if (!ctx.existing) await verifyTargetStorage(ctx, opts);
  const server = ctx.server;
  if (!server) throw new CliError('the preflight could not read the server', ExitCode.failed);
  const image = opts.targetImage ?? targetImageFor(ctx.d.image, opts.to) ?? `postgres:${opts.to}`;
  const su = ctx.d.superuser?.user ?? 'postgres';
  const kind = ctx.d.workload.kind;
  const md5Logins = server.roles.some((r) => r.hash === 'md5');
  const source = { workload: ctx.d.workload, container: ctx.d.container, flavour: ctx.d.flavour, pvc: ctx.d.pvc };
  // Without a volume to copy the size of, the data's size as the server reports it, with head room.
  const size = targetSize({
    size: opts.size,
    source,
    dataBytes: ctx.d.pvc ? undefined : sourceDataBytes(server.databases),
  });
  const probe = buildDumpTarget({
    namespace: ctx.d.namespace,
    source,
    major: opts.to,
    image,
    superuser: { user: su, secret: { name: '', key: '' } },
    storageClass: opts.storageClass,
    size,
  });
  if (ctx.existing && md5Logins) {
    ctx.warnings.push({
      id: 'passwords',
      found: `roles with md5 password hashes come over as they are: the existing ${ctx.existing.d.workload.kind} ${ctx.existing.d.workload.metadata.name}'s pg_hba.conf decides whether they log in`,
      fix: 'let its pg_hba.conf accept md5 for them (md5 accepts SCRAM too), or reset their passwords after the upgrade',
    });
  }
  const outside = new Set(
    podsOutside(await ctx.cluster.listPods(ctx.d.namespace), ctx.d.apps, ctx.d.workload).map((p) => p.metadata.name),
  );
  ctx.leftRunning = sessionsLeft(server.clients, ctx.d.podsByIp, (pod) => !outside.has(pod));
  const services = (await sourceServices(ctx.cluster, ctx.d)).map((x) => ({
    name: x.metadata.name,
    before: { selector: x.spec?.selector, ports: x.spec?.ports },
  }));
  const jobs = opts.jobs ?? chooseJobs(ctx.d.container.resources, ctx.d.container.resources);
  return {
    version: 1,
    method: 'dump',
    workload: { kind, name: ctx.d.workload.metadata.name, replicas: Math.max(ctx.d.workload.replicas, 1) },
    workloadUid: ctx.d.workload.metadata.uid ?? '',
    pvc: ctx.d.pvc?.metadata.name ?? NO_VOLUME,
    container: ctx.d.container.name,
    from: Math.floor(server.versionNum / 10000),
    fromVersion: server.version.split(' ')[0] ?? server.version,
    to: opts.to,
    target: ctx.existing
      ? existingTargetRecord(ctx.existing, md5Logins)
      : {
          kind,
          name: probe.name,
          pvc: probe.pvc.metadata.name,
          service: probe.service.metadata.name,
          image,
          superuser: probe.layout.superuser,
          container: ctx.d.container.name,
          md5Logins,
          size,
          initdb: localeOptions(server),
          ...(ctx.d.superuser?.secret ? {} : { secret: superuserSecretName(probe.name) }),
        },
    services,
    apps: ctx.d.apps.map((a) => ({ kind: a.kind, name: a.metadata.name, replicas: a.replicas })),
    settings: loadSettings(ctx.d.container.resources, jobs),
    jobs,
    cutover: opts.cutover,
    phase: 'preflight',
    history: [],
  };
}
