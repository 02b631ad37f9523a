import { Listr } from 'listr2';
import type { CommandContext } from '../../context.ts';
import { usageError } from '../../exit-codes.ts';
import { onInterrupt } from '../../interrupt.ts';
import type { Cluster } from '../../k8s/cluster.ts';
import { OWNED_LABELS } from '../../manifests/probe-pod.ts';
import type { RehearsalRecord } from '../../postgres/rehearsal.ts';
import { saveRecord } from '../../state/store.ts';
import { refOf } from '../../postgres/workload.ts';
import { printReport, type Io } from '../../output.ts';
import type { OutputFormat } from '../../renderer.ts';
import { listrOptions } from '../../listr-options.ts';
import { waitPodsGone } from '../../steps/workload.ts';
import { createPlanTasks, type UpgradeCtx, type UpgradeOptions } from './tasks.ts';
import { createRehearseTasks, type Rehearsal, type RehearseCtx } from './rehearse.ts';
import { rehearsalReportOf, rehearsalReportText } from './rehearsal-report.ts';

/** Removes what the rehearsal made: the probes, the Job and its pod, the clone, and the snapshot unless kept. */
async function removeAll(
  cluster: Cluster,
  ns: string,
  r: Rehearsal,
  keepSnapshot: boolean,
  timeoutMs: number,
): Promise<void> {
  for (const p of r.probes) await p.dispose().catch(() => undefined);
  if (r.job) {
    await cluster.deleteObject({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: r.job });
    await waitPodsGone(cluster, ns, { 'job-name': r.job }, "the rehearsal Job's pod", timeoutMs).catch(() => undefined);
  }
  if (r.pvc)
    await cluster.deleteObject({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: r.pvc });
  if (r.snapshot && !keepSnapshot)
    await cluster.deleteObject({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      namespace: ns,
      name: r.snapshot,
    });
}

/** Keeps the outcome where `upgrade` looks before any downtime. */
async function storeRecord(c: UpgradeCtx, rec: RehearsalRecord): Promise<void> {
  const current = await c.cluster.readObject({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: c.d.namespace,
    name: c.names.rehearsal,
  });
  await saveRecord(
    c.cluster,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: c.names.rehearsal,
        namespace: c.d.namespace,
        labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'rehearsal' },
        annotations: { 'pgupgrade.kubectl.io/workload': `${c.d.workload.kind}/${c.d.workload.metadata.name}` },
      },
      data: { 'rehearsal.json': JSON.stringify(rec) },
    },
    "the rehearsal's outcome",
    current?.metadata.resourceVersion,
  );
}

/** `upgrade --rehearse`: the upgrade's plan, then the whole upgrade on a snapshot clone; production is only read. */
export async function runRehearse(
  ctx: CommandContext,
  opts: UpgradeOptions & { output: OutputFormat; keepSnapshot: boolean },
  io: Io,
): Promise<void> {
  const listOpts = listrOptions(ctx.flags);
  const renderer = listOpts.renderer;
  const c = {} as RehearseCtx;
  try {
    // The last rehearsal's failure holds back the upgrade, not another rehearsal.
    await new Listr<UpgradeCtx, typeof renderer, 'simple'>(
      createPlanTasks(() => ctx.cluster(), {
        ...opts,
        force: [...opts.force, 'rehearsal'],
        gitopsPaused: true,
        discardDumpRollback: true,
      }),
      listOpts,
    ).run(c);
  } finally {
    await c.probe?.dispose();
  }
  refuseNothingToRehearse(c);
  const timeoutMs = opts.timeoutSeconds * 1000;
  c.rehearsal = { probes: [], timings: {} };
  const unregister = onInterrupt(() => removeAll(c.cluster, c.d.namespace, c.rehearsal, opts.keepSnapshot, 30_000));
  let error: unknown;
  try {
    await new Listr<RehearseCtx, typeof renderer, 'simple'>(createRehearseTasks(timeoutMs), listOpts).run(c);
  } catch (err) {
    error = err;
  } finally {
    await removeAll(c.cluster, c.d.namespace, c.rehearsal, opts.keepSnapshot, timeoutMs);
    unregister();
  }
  const r = c.rehearsal;
  const ok = error === undefined;
  await keepVerdict(c, ok);
  const report = rehearsalReportOf(c, ok, error);
  await printReport(io, opts.output, report, (x) => rehearsalReportText(x, r, opts.keepSnapshot));
  if (error) throw error;
}

/** A rehearsal needs a live database and no upgrade under way. */
function refuseNothingToRehearse(c: RehearseCtx): void {
  if (c.nothingToDo) throw usageError(`${c.nothingToDo}: there is nothing to rehearse`);
  if (c.resuming)
    throw usageError(
      `an upgrade of ${refOf(c.state!.workload)} is under way (last phase "${c.state?.phase}"): finish it or roll it back; nothing to rehearse`,
    );
  if (c.mode !== 'live' || c.bumped) {
    throw usageError(
      `${c.d.workload.kind} ${c.d.namespace}/${c.d.workload.metadata.name} is not running: a rehearsal clones the live volume. For a stopped ` +
        'database, check already runs pg_upgrade --check on its volume',
    );
  }
}

/**
 * Only the rehearsal's own verdict is kept (set by its tasks): a Ctrl-C, or a cluster out of reach, says nothing
 * about the upgrade.
 */
async function keepVerdict(c: RehearseCtx, ok: boolean): Promise<void> {
  const s = c.state!;
  const r = c.rehearsal;
  if (ok || r.failure)
    await storeRecord(c, {
      to: s.to,
      method: s.method,
      ok,
      at: new Date().toISOString(),
      ...(ok ? {} : { failure: r.failure }),
    });
}
