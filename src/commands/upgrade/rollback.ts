import type { ListrTask } from 'listr2';
import type { Cluster } from '../../k8s/cluster.ts';
import { discover, type Discovery } from '../../discovery/discover.ts';
import { CliError, ExitCode, usageError } from '../../exit-codes.ts';
import { isDone, upgradeNames, type UpgradeState } from '../../state/state.ts';
import { readRecorded } from '../../state/recorded.ts';
import { connectTask } from '../../connect-task.ts';
import { refOf } from '../../postgres/workload.ts';
import { putDirectoriesBack, restoreFromSnapshot } from './rollback-data.ts';
import { forgetUpgrade, startOldMajor, stopEverything, verifyRolledBack } from './rollback-steps.ts';

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

/** The "Find the workload and the record of its upgrade" task: the in-place record and its way back; the title. */
async function findRecord(ctx: RollbackCtx, opts: RollbackOptions): Promise<string> {
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
  return `Found the upgrade from ${s.fromVersion} to ${s.to} (--${s.method}), stopped after "${s.phase}": back ${way.via === 'snapshot' ? `from snapshot ${s.snapshot}` : 'by putting the directories back'} (${way.why})`;
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
        task.title = await findRecord(ctx, opts);
      },
    },
    {
      title: 'Stop the applications, the database and the upgrade Job',
      task: (ctx) => stopEverything(ctx, timeout),
    },
    {
      title: "Put the old cluster's directories back",
      enabled: (ctx) => ctx.via === 'directories',
      task: (ctx, task) => putDirectoriesBack(ctx, task, timeout),
      rendererOptions: { persistentOutput: false, outputBar: 6 } as never,
    },
    {
      title: 'Restore the data PVC from the snapshot taken before the upgrade',
      enabled: (ctx) => ctx.via === 'snapshot',
      task: (ctx, task) => restoreFromSnapshot(ctx, task, timeout),
    },
    {
      title: 'Start the database on the old major again',
      task: (ctx, task) => startOldMajor(ctx, task, timeout),
    },
    {
      title: 'Verify: the data equals the reference, as the upgrade found it',
      task: (ctx, task) => verifyRolledBack(ctx, task, opts, timeout),
    },
    {
      title: 'Scale the applications back up, resume what --pause-gitops paused, and forget the upgrade',
      task: (ctx) => forgetUpgrade(ctx, timeout),
    },
  ];
}
