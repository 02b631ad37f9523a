import { blockingError, CliError, ExitCode, usageError } from '../../../exit-codes.ts';
import { podsOutside } from '../../../discovery/named-apps.ts';
import { buildDumpTarget, targetSize, targetSizeProblem } from '../../../manifests/dump-target.ts';
import { chooseJobs, loadSettings } from '../../../postgres/dump-plan.ts';
import { NO_VOLUME, sourceDataBytes, superuserSecretName } from '../../../postgres/dump-source.ts';
import { targetImageFor } from '../../../postgres/images.ts';
import { localeOptions } from '../../../postgres/rules.ts';
import { sessionsLeft } from '../../../postgres/source-sessions.ts';
import { evaluate } from '../../../preflight/evaluate.ts';
import { evidenceOf } from '../../../preflight/evidence.ts';
import type { DumpState } from '../../../state/dump-state.ts';
import type { DumpCtx, DumpOptions } from './ctx.ts';
import { existingTargetRecord } from './existing.ts';
import { sourceServices } from './identity.ts';

type Server = NonNullable<DumpCtx['server']>;

/** check's findings judged: user code in the load refuses whatever --force says (exit 2), a failing one not forced exit 3. */
function judgeFindings(ctx: DumpCtx, opts: DumpOptions, checkOpts: Parameters<typeof evidenceOf>[1]): void {
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
}

/** The new instance as recorded: the plugin's own, planned from the source; or the existing one named by --target. */
function targetRecord(ctx: DumpCtx, opts: DumpOptions, server: Server, md5Logins: boolean): DumpState['target'] {
  const image = opts.targetImage ?? targetImageFor(ctx.d.image, opts.to) ?? `postgres:${opts.to}`;
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
    superuser: { user: ctx.d.superuser?.user ?? 'postgres', secret: { name: '', key: '' } },
    storageClass: opts.storageClass,
    size,
  });
  if (ctx.existing) return existingTargetRecord(ctx.existing, md5Logins);
  return {
    kind: ctx.d.workload.kind,
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
  };
}

/** The sessions left running (pods outside the applications stopped), and a warning on md5 hashes into an existing target. */
async function noteLeftRunning(ctx: DumpCtx, server: Server, md5Logins: boolean): Promise<void> {
  if (ctx.existing && md5Logins) {
    ctx.warnings?.push({
      id: 'passwords',
      found: `roles with md5 password hashes come over as they are: the existing ${ctx.existing.d.workload.kind} ${ctx.existing.d.workload.metadata.name}'s pg_hba.conf decides whether they log in`,
      fix: 'let its pg_hba.conf accept md5 for them (md5 accepts SCRAM too), or reset their passwords after the upgrade',
    });
  }
  const outside = new Set(
    podsOutside(await ctx.cluster.listPods(ctx.d.namespace), ctx.d.apps, ctx.d.workload).map((p) => p.metadata.name),
  );
  ctx.leftRunning = sessionsLeft(server.clients, ctx.d.podsByIp, (pod) => !outside.has(pod));
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
export async function newState(
  ctx: DumpCtx,
  opts: DumpOptions,
  checkOpts: Parameters<typeof evidenceOf>[1],
): Promise<DumpState> {
  judgeFindings(ctx, opts, checkOpts);
  if (!ctx.existing) await verifyTargetStorage(ctx, opts);
  const server = ctx.server;
  if (!server) throw new CliError('the preflight could not read the server', ExitCode.failed);
  const md5Logins = server.roles.some((r) => r.hash === 'md5');
  const target = targetRecord(ctx, opts, server, md5Logins);
  await noteLeftRunning(ctx, server, md5Logins);
  const services = (await sourceServices(ctx.cluster, ctx.d)).map((x) => ({
    name: x.metadata.name,
    before: { selector: x.spec?.selector, ports: x.spec?.ports },
  }));
  const jobs = opts.jobs ?? chooseJobs(ctx.d.container.resources, ctx.d.container.resources);
  return {
    version: 1,
    method: 'dump',
    workload: {
      kind: ctx.d.workload.kind,
      name: ctx.d.workload.metadata.name,
      replicas: Math.max(ctx.d.workload.replicas, 1),
    },
    workloadUid: ctx.d.workload.metadata.uid ?? '',
    pvc: ctx.d.pvc?.metadata.name ?? NO_VOLUME,
    container: ctx.d.container.name,
    from: Math.floor(server.versionNum / 10000),
    fromVersion: server.version.split(' ')[0] ?? server.version,
    to: opts.to,
    target,
    services,
    apps: ctx.d.apps.map((a) => ({ kind: a.kind, name: a.metadata.name, replicas: a.replicas })),
    settings: loadSettings(
      ctx.d.container.resources,
      jobs,
      Math.max(0, ...[...(ctx.databases?.values() ?? [])].map((db) => db.relations + (db.largeObjects ?? 0))),
    ),
    jobs,
    cutover: opts.cutover,
    phase: 'preflight',
    history: [],
  };
}
