import { retainVolumeOf } from '../../steps/retain.ts';
import type { ListrTask } from 'listr2';
import type { Cluster } from '../../k8s/cluster.ts';
import { discover, type Discovery } from '../../discovery/discover.ts';
import { liveReach, readPassword } from '../../server/gather.ts';
import { CliError, ExitCode, usageError } from '../../exit-codes.ts';
import { buildRollbackJob } from '../../manifests/upgrade-job.ts';
import { compareFingerprints } from '../../postgres/fingerprint.ts';
import { loadReference, referenceFromSnapshot, type Reference } from '../../state/reference.ts';
import { fingerprintVia } from '../../fingerprint/read.ts';
import { waitSnapshot } from '../../volume-snapshots/take.ts';
import { isDone, upgradeNames, type UpgradeState } from '../../state/state.ts';
import { readRecorded } from '../../state/recorded.ts';
import {
  patchDataLayout,
  patchImage,
  scaleTo,
  waitDetached,
  waitPodsGone,
  waitWorkloadReady,
} from '../../steps/workload.ts';
import { describeStrategy } from '../../postgres/strategy.ts';
import { restoreStrategy } from '../../steps/strategy.ts';
import { poll } from '../../steps/poll.ts';
import { runJob } from '../../steps/job.ts';
import { connectTask } from '../../connect-task.ts';
import { refOf } from '../../postgres/workload.ts';
import { resumeOwners } from '../../steps/gitops.ts';

/** How a rollback returns to the old major. */
export type RollbackVia = 'directories' | 'snapshot';

export interface RollbackCtx {
  cluster: Cluster;
  d: Discovery;
  state: UpgradeState;
  names: ReturnType<typeof upgradeNames>;
  /** The record's resourceVersion when it was read: the lock makes sure nobody changed it before the first change. */
  stateVersion?: string;
  via: RollbackVia;
  why: string;
  diff?: string[];
}

export interface RollbackOptions {
  workload?: string;
  appSelector: Record<string, string>;
  timeoutSeconds: number;
  /** --superuser-secret: where the superuser's password is, when the pod spec does not say. */
  superuserSecret?: { name: string; key: string };
}

/**
 * The way back, decided from the record alone, never from what runs now: until the new server may have started
 * (`db-start` is recorded before its first start) and, with --swap, until the Job may have begun moving files
 * (`job-started`), the directories are put back and pg_control's ".old" removed; afterwards only the snapshot
 * holds the old cluster.
 */
export function rollbackWay(s: UpgradeState): { via: RollbackVia; why: string } {
  if (s.method === 'swap' && isDone(s, 'job-started'))
    return { via: 'snapshot', why: "pg_upgrade --swap may have moved the old cluster's files into the new one" };
  if (isDone(s, 'db-start'))
    return {
      via: 'snapshot',
      why: "the new server has (or may have) started, so the old cluster's files (shared in link mode) may have changed",
    };
  if (s.handedOverAt)
    return {
      via: 'snapshot',
      why: `the workload was left to you to point at the new major (--no-patch-workload, ${s.handedOverAt}): the new server may have run since`,
    };
  return { via: 'directories', why: 'the new server has never started' };
}

/**
 * What the rolled-back data must equal: the reference the upgrade stored, else (the run stopped before it was
 * read) one read now from the snapshot, when the rollback did not restore that very snapshot.
 */
async function rollbackReference(ctx: RollbackCtx, d: Discovery, timeoutMs: number): Promise<Reference | undefined> {
  const stored = await loadReference(ctx.cluster, d.namespace, ctx.state.fingerprintConfigMap, ctx.state);
  if (stored || ctx.via === 'snapshot' || !ctx.state.snapshot) return stored;
  return referenceFromSnapshot(ctx.cluster, d, ctx.state, ctx.state.fingerprintConfigMap, timeoutMs);
}

export function createRollbackTasks(
  connect: () => Promise<Cluster>,
  opts: RollbackOptions,
): Array<ListrTask<RollbackCtx>> {
  const timeout = opts.timeoutSeconds * 1000;
  return [
    connectTask<RollbackCtx>(connect),
    {
      title: 'Find the workload and the record of its upgrade',
      task: async (ctx, task) => {
        ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, opts.appSelector, opts);
        const { names, inPlace } = await readRecorded(ctx.cluster, ctx.d);
        if (!inPlace)
          throw usageError(
            `no upgrade of ${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} is recorded (ConfigMap ${names.inPlace}): there is nothing to roll back`,
          );
        const s = inPlace.state;
        ctx.stateVersion = inPlace.cm.metadata.resourceVersion;
        ctx.state = s;
        ctx.names = upgradeNames(ctx.d.workload.metadata.name, s.to);
        const way = rollbackWay(s);
        if (way.via === 'snapshot' && !s.snapshot) {
          throw new CliError(
            `the upgrade ran with --no-snapshot and ${way.why}: there is no way back to PostgreSQL ${s.from} that this tool can take safely ` +
              `(starting the old cluster on those files could corrupt it); nothing was changed. Restore your own backup, or resume the upgrade: ` +
              `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(s.workload)} --to ${s.to} --method ${s.method}`,
            ExitCode.failed,
          );
        }
        Object.assign(ctx, way);
        task.title = `Found the upgrade from ${s.fromVersion} to ${s.to} (--${s.method}), stopped after "${s.phase}": back ${way.via === 'snapshot' ? `from snapshot ${s.snapshot}` : 'by putting the directories back'} (${way.why})`;
      },
    },
    {
      title: 'Stop the applications, the database and the upgrade Job',
      task: async (ctx) => {
        const s = ctx.state;
        const ns = ctx.d.namespace;
        for (const a of s.apps) await scaleTo(ctx.cluster, ns, a, 0);
        for (const a of ctx.d.apps)
          await waitPodsGone(
            ctx.cluster,
            ns,
            a.selector,
            `the pods of ${refOf({ kind: a.kind, name: a.metadata.name })}`,
            timeout,
            a.matchExpressions,
          );
        await scaleTo(ctx.cluster, ns, s.workload, 0);
        await ctx.cluster.deleteObject({ apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name: s.job });
        await waitPodsGone(
          ctx.cluster,
          ns,
          ctx.d.workload.selector,
          'the database pod',
          timeout,
          ctx.d.workload.matchExpressions,
        );
        await waitPodsGone(ctx.cluster, ns, { 'job-name': s.job }, "the upgrade Job's pod", timeout);
        if (ctx.d.pvc.volumeName) await waitDetached(ctx.cluster, ctx.d.pvc.volumeName, timeout);
      },
    },
    {
      title: "Put the old cluster's directories back",
      enabled: (ctx) => ctx.via === 'directories',
      task: async (ctx, task) => {
        const job = buildRollbackJob(ctx.state.jobSpec);
        await ctx.cluster.deleteObject({
          apiVersion: 'batch/v1',
          kind: 'Job',
          namespace: ctx.d.namespace,
          name: job.metadata.name,
        });
        await waitPodsGone(
          ctx.cluster,
          ctx.d.namespace,
          { 'job-name': job.metadata.name },
          "an earlier rollback Job's pod",
          timeout,
        );
        await poll(`the earlier rollback Job ${job.metadata.name} to be deleted`, timeout, async () =>
          (await ctx.cluster.readObject({
            apiVersion: 'batch/v1',
            kind: 'Job',
            namespace: ctx.d.namespace,
            name: job.metadata.name,
          }))
            ? undefined
            : true,
        );
        const out = await runJob(ctx.cluster, ctx.d.namespace, job, (t) => (task.output = t.trimEnd()), timeout);
        if (!out.ok) {
          throw new CliError(
            `the rollback Job failed (${out.reason ?? 'see its log'}):\n${out.log.split('\n').slice(-30).join('\n')}\n` +
              (ctx.state.snapshot ? `The snapshot ${ctx.state.snapshot} still holds the old cluster.` : ''),
            ExitCode.failed,
          );
        }
        await ctx.cluster.deleteObject({
          apiVersion: 'batch/v1',
          kind: 'Job',
          namespace: ctx.d.namespace,
          name: job.metadata.name,
        });
        task.title = `Put the old cluster's directories back: ${out.log
          .trim()
          .split('\n')
          .pop()
          ?.replace(/^pgupgrade: /, '')}`;
      },
      rendererOptions: { persistentOutput: false, outputBar: 6 } as never,
    },
    {
      title: 'Restore the data PVC from the snapshot taken before the upgrade',
      enabled: (ctx) => ctx.via === 'snapshot',
      task: async (ctx, task) => {
        const ns = ctx.d.namespace;
        const snap = await waitSnapshot(ctx.cluster, ns, ctx.state.snapshot as string, 'ready', timeout);
        const pvcRef = {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: ns,
          name: ctx.d.pvc.metadata.name,
        };
        const current = await ctx.cluster.readObject(pvcRef);
        if (current?.spec?.dataSource?.name === snap.name && !current.metadata.deletionTimestamp) {
          task.title = `Restore the data PVC: ${pvcRef.name} is already restored from ${snap.name}`;
          return;
        }
        // Destructive, and safe only now: the snapshot is ready to use, no pod mounts the claim, and its volume stays.
        const kept = current ? await retainVolumeOf(ctx.cluster, current) : undefined;
        await ctx.cluster.deleteObject(pvcRef);
        await poll(
          `PVC ${ns}/${pvcRef.name} to be deleted`,
          timeout,
          async () => ((await ctx.cluster.readObject(pvcRef)) ? undefined : true),
          `kubectl -n ${ns} describe pvc ${pvcRef.name} (a pod that still mounts it holds it)`,
        );
        const bytes = Math.max(ctx.d.pvc.capacityBytes ?? 0, snap.restoreSizeBytes ?? 0);
        await ctx.cluster.createObject({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: {
            name: pvcRef.name,
            namespace: ns,
            labels: current?.metadata.labels ?? {},
            annotations: {
              'pgupgrade.kubectl.io/restored-from': snap.name,
              'pgupgrade.kubectl.io/restored-at': new Date().toISOString(),
            },
          },
          spec: {
            accessModes: ctx.d.pvc.accessModes.length ? ctx.d.pvc.accessModes : ['ReadWriteOnce'],
            ...(ctx.d.pvc.storageClassName ? { storageClassName: ctx.d.pvc.storageClassName } : {}),
            dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snap.name },
            resources: { requests: { storage: String(bytes) } },
          },
        });
        task.title = `Restore the data PVC ${pvcRef.name} from snapshot ${snap.name} (cut ${snap.cutAt})`;
        if (kept)
          task.output = `the upgraded data stays on PersistentVolume ${kept} (Retain): kubectl delete pv ${kept} once you are sure`;
      },
    },
    {
      title: 'Start the database on the old major again',
      task: async (ctx, task) => {
        const s = ctx.state;
        const r = s.relayout;
        // The original layout too, where the upgrade moved the data out of the volume's root (idempotent).
        if (r) {
          await patchDataLayout(
            ctx.cluster,
            ctx.d.namespace,
            s.workload,
            s.container,
            s.oldImage,
            { mountPath: r.toMount, pgdata: r.pgdata },
            { mountPath: r.fromMount, pgdata: r.pgdataEnv },
          );
        } else {
          await patchImage(ctx.cluster, ctx.d.namespace, s.workload, s.container, s.oldImage);
        }
        await scaleTo(ctx.cluster, ctx.d.namespace, s.workload, s.workload.replicas);
        await waitWorkloadReady(ctx.cluster, ctx.d.namespace, s.workload, timeout);
        if (s.strategy) await restoreStrategy(ctx.cluster, ctx.d.namespace, s.workload.name, s.strategy);
        task.title =
          `Start the database on the old major again: ${s.oldImage}, ${s.workload.replicas} ready` +
          (r
            ? `; the claim at ${r.fromMount} again, ${r.pgdataEnv === null ? 'no PGDATA' : `PGDATA=${r.pgdataEnv}`}`
            : '') +
          (s.strategy ? `; strategy ${describeStrategy(s.strategy)} back` : '');
      },
    },
    {
      title: 'Verify: the data equals the reference, as the upgrade found it',
      task: async (ctx, task) => {
        const d = await discover(ctx.cluster, ctx.d.namespace, refOf(ctx.state.workload), opts.appSelector, opts);
        const ref = await rollbackReference(ctx, d, timeout);
        if (!ref) {
          task.title =
            ctx.via === 'snapshot'
              ? `Verify: the volume is snapshot ${ctx.state.snapshot} itself; no reference was read from it, the server runs`
              : 'Verify: no reference fingerprint was taken (no snapshot, and the upgrade stopped before it); the server runs, nothing to compare';
          return;
        }
        const before = ref.fingerprint;
        const after = await fingerprintVia(ctx.cluster, d, liveReach(d), await readPassword(ctx.cluster, d));
        ctx.diff = compareFingerprints(before, after);
        if (ctx.diff.length) {
          throw new CliError(
            `the rolled-back database differs from the fingerprint taken before the upgrade:\n  ${ctx.diff.join('\n  ')}\nThe applications stay scaled down.`,
            ExitCode.failed,
          );
        }
        task.title = `Verify: equal to the reference read from the ${ref.source}`;
      },
    },
    {
      title: 'Scale the applications back up, resume what --pause-gitops paused, and forget the upgrade',
      task: async (ctx) => {
        const s = ctx.state;
        for (const a of s.apps) await scaleTo(ctx.cluster, ctx.d.namespace, a, a.replicas);
        for (const a of s.apps) await waitWorkloadReady(ctx.cluster, ctx.d.namespace, a, timeout);
        // --pause-gitops: what the upgrade paused is put back as it was, once everything runs the old major again.
        if (s.pausedOwners?.length && !s.ownersResumedAt) await resumeOwners(ctx.cluster, s.pausedOwners);
        // The reference belongs to the upgrade undone: the next upgrade reads its own. Then the record goes.
        await ctx.cluster.deleteObject({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: ctx.d.namespace,
          name: s.fingerprintConfigMap,
        });
        await ctx.cluster.deleteObject({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          namespace: ctx.d.namespace,
          name: ctx.names.state,
        });
      },
    },
  ];
}
