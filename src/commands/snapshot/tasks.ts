import type { ListrTask } from 'listr2';
import { connectTask } from '../../connect-task.ts';
import type { Cluster, KObject } from '../../k8s/cluster.ts';
import { clientsNote } from '../../discovery/clients.ts';
import { discover, type Discovery } from '../../discovery/discover.ts';
import { gatherVolume, liveReach, modeOf, readPassword, type Mode } from '../../server/gather.ts';
import { readControlData, startProbe } from '../../probe/probe.ts';
import { CliError, ExitCode, usageError } from '../../exit-codes.ts';
import { formatBytes } from '../../k8s/quantity.ts';
import type { ControlData } from '../../postgres/volume-facts.ts';
import { fingerprintTotals, type Fingerprint } from '../../postgres/fingerprint.ts';
import { judgeLiveCopy, stableAcrossCut } from '../../postgres/fingerprint-cut.ts';
import { readRestoredCopy } from '../../volume-snapshots/copy.ts';
import { pickSnapshotClass, type SnapshotRecord } from '../../volume-snapshots/record.ts';
import { checkpoint, serverVersion } from '../../server/gather.ts';
import { createSnapshot, waitSnapshot } from '../../volume-snapshots/take.ts';
import { fingerprintVia } from '../../fingerprint/read.ts';
import { storeFingerprint } from '../../fingerprint/store.ts';
import { recordKey } from '../../state/record-key.ts';

/** What `snapshot` was asked to do. */
export interface SnapshotOptions {
  workload?: string;
  /** Wait for readyToUse (default); without it, return once the snapshot is cut. */
  wait: boolean;
  verify: boolean;
  snapshotClass?: string;
  timeoutSeconds: number;
  superuserSecret?: { name: string; key: string }; // --superuser-secret
}

/** What the verification found. */
export interface VerifyResult {
  ok: boolean;
  /** What the restored copy was compared with. */
  against: 'fingerprints before and after the cut' | 'pg_controldata of the stopped cluster';
  differences: string[];
  /** Tables and sequences that applications wrote while the snapshot was cut, with what the copy holds. */
  writtenDuringCut: string[];
  totals: { databases: number; tables: number; rows: number };
  restoredPvc: string;
  pod: string;
}

/** What the tasks share. */
export interface SnapshotCtx {
  cluster: Cluster;
  d: Discovery;
  mode: Mode;
  password: string;
  version: string;
  major: number;
  className: string;
  before?: Fingerprint;
  /** The running database's fingerprint right after the cut: what changed since `before` was written meanwhile. */
  after?: Fingerprint;
  controlData?: ControlData;
  snap: KObject;
  record: SnapshotRecord;
  fingerprintConfigMap?: string;
  verify?: VerifyResult;
}

const live = (ctx: SnapshotCtx) => ctx.mode === 'live';
const offline = (ctx: SnapshotCtx) => ctx.mode === 'offline';

/** Probes a stopped database's volume: PG_VERSION and pg_controldata, so the snapshot says what it holds. */
async function probeStopped(ctx: SnapshotCtx): Promise<void> {
  const probe = await startProbe(ctx.cluster, ctx.d, ctx.d.image, {
    role: 'snapshot-probe',
    purpose: 'reads PG_VERSION and pg_controldata of a stopped database before its snapshot; deleted at once',
  });
  try {
    const vol = await gatherVolume(ctx.cluster, ctx.d, probe, ctx.d.pgdata);
    ctx.controlData = await readControlData(ctx.cluster, ctx.d, probe);
    ctx.version = vol.pgVersion ?? '';
    ctx.major = Number(vol.pgVersion);
  } finally {
    await probe.dispose();
  }
  if (!ctx.major)
    throw new CliError(
      `${ctx.d.pvc.metadata.name}: no PG_VERSION in ${ctx.d.pgdata}; is this the data volume of a PostgreSQL cluster?`,
      ExitCode.failed,
    );
}

/** Restores the snapshot to a temporary PVC, starts the old major on it in a throwaway pod, and compares. */
async function verifyCopy(ctx: SnapshotCtx, onStep: (s: string) => void): Promise<VerifyResult> {
  await recordKey(ctx.cluster, ctx.d.namespace); // a stopped database's copy is its first fingerprint
  const copy = await readRestoredCopy(ctx.cluster, ctx.d, {
    snapshot: ctx.snap.metadata.name,
    image: ctx.d.image,
    restoreSizeBytes: ctx.record.restoreSizeBytes,
    purpose: 'verify',
    why: `starts PostgreSQL on a copy restored from VolumeSnapshot ${ctx.snap.metadata.name} to verify it; deleted when verify ends`,
    onStep,
  });
  const differences: string[] = [];
  if (ctx.controlData) {
    const c = copy.controlData;
    if (c.systemIdentifier !== ctx.controlData.systemIdentifier)
      differences.push(
        `system identifier ${ctx.controlData.systemIdentifier} → ${c.systemIdentifier}: not the same cluster`,
      );
    if (c.checkpointLocation !== ctx.controlData.checkpointLocation)
      differences.push(`latest checkpoint ${ctx.controlData.checkpointLocation} → ${c.checkpointLocation}`);
    if (c.state !== ctx.controlData.state) differences.push(`cluster state "${ctx.controlData.state}" → "${c.state}"`);
  }
  let writtenDuringCut: string[] = [];
  if (ctx.before && ctx.after) {
    const judged = judgeLiveCopy(ctx.before, ctx.after, copy.fingerprint);
    differences.push(...judged.differences);
    writtenDuringCut = judged.written;
  }
  // What the snapshot holds, exactly: the copy's own fingerprint is what a restore of it must show.
  ctx.fingerprintConfigMap = await storeFingerprint(ctx.cluster, ctx.snap, copy.fingerprint);
  return {
    ok: differences.length === 0,
    against: ctx.before ? 'fingerprints before and after the cut' : 'pg_controldata of the stopped cluster',
    differences,
    writtenDuringCut,
    totals: fingerprintTotals(copy.fingerprint),
    restoredPvc: copy.restoredPvc,
    pod: copy.pod,
  };
}

/** `snapshot` as a task tree. */
export function createSnapshotTasks(
  connect: () => Promise<Cluster>,
  opts: SnapshotOptions,
): Array<ListrTask<SnapshotCtx>> {
  return [
    connectTask<SnapshotCtx>(connect),
    {
      title: 'Find the PostgreSQL workload and its data PVC',
      task: async (ctx, task) => {
        ctx.d = await discover(ctx.cluster, ctx.cluster.namespace, opts.workload, {}, opts);
        ctx.mode = modeOf(ctx.d);
        const driver = ctx.d.csiDriver;
        if (!driver)
          throw new CliError(
            `PVC ${ctx.d.namespace}/${ctx.d.pvc.metadata.name} has no StorageClass with a CSI driver, so it cannot be snapshotted; back it up another way (pg_dump, or your storage's own tools)`,
            ExitCode.failed,
          );
        const classes = await ctx.cluster.snapshotClasses();
        if (!classes)
          throw new CliError(
            `the VolumeSnapshot API (snapshot.storage.k8s.io/v1) is not installed in context ${ctx.cluster.contextName}; install the external-snapshotter CRDs and controller, or back up another way`,
            ExitCode.failed,
          );
        const pick = pickSnapshotClass(classes, driver, opts.snapshotClass);
        if ('problem' in pick)
          throw opts.snapshotClass
            ? usageError(pick.problem)
            : new CliError(`${pick.problem}: create one for it, or back up another way`, ExitCode.failed);
        ctx.className = pick.name;
        task.title =
          `Find the PostgreSQL workload and its data PVC: ${ctx.d.workload.kind} ${ctx.d.workload.metadata.name}, PVC ${ctx.d.pvc.metadata.name}, ` +
          `class ${ctx.className}, ${ctx.mode === 'live' ? `running in pod ${ctx.d.pod?.metadata.name}` : 'stopped'}${clientsNote(ctx.d.clients)}`;
      },
    },
    {
      title: 'Ask the running server for its version',
      enabled: live,
      task: async (ctx, task) => {
        ctx.password = await readPassword(ctx.cluster, ctx.d);
        const v = await serverVersion(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
        ctx.version = v.version;
        ctx.major = Math.floor(v.num / 10000);
        task.title = `Ask the running server for its version: PostgreSQL ${v.version}`;
      },
    },
    {
      title: 'Fingerprint the database, to verify the copy against',
      enabled: (ctx) => live(ctx) && opts.verify,
      task: async (ctx, task) => {
        // The fingerprint kept with the snapshot has keyed checksums: the key is there before the first one.
        await recordKey(ctx.cluster, ctx.d.namespace);
        ctx.before = await fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
        const t = fingerprintTotals(ctx.before);
        task.title = `Fingerprint the database: ${t.databases} databases, ${t.tables} tables, ${t.rows} rows`;
      },
    },
    {
      title: 'CHECKPOINT, so that the snapshot needs little crash recovery',
      enabled: live,
      task: (ctx) => checkpoint(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password),
    },
    {
      title: 'Read PG_VERSION and pg_controldata of the stopped database in a probe pod',
      enabled: offline,
      task: async (ctx, task) => {
        await probeStopped(ctx);
        task.title = `Read PG_VERSION and pg_controldata of the stopped database: PostgreSQL ${ctx.major}, ${ctx.controlData?.state}`;
      },
    },
    {
      title: 'Take the VolumeSnapshot',
      task: async (ctx, task) => {
        ctx.snap = await createSnapshot(ctx.cluster, {
          namespace: ctx.d.namespace,
          workloadKind: ctx.d.workload.kind,
          workloadName: ctx.d.workload.metadata.name,
          pvc: ctx.d.pvc.metadata.name,
          className: ctx.className,
          pgVersion: ctx.version,
          pgMajor: ctx.major,
          takenAt: new Date(),
          reason: 'snapshot command',
          consistency: ctx.mode === 'live' ? 'crash-consistent' : 'stopped',
        });
        const name = ctx.snap.metadata.name;
        task.title = `Take the VolumeSnapshot ${name}: waiting for the storage to cut it`;
        ctx.record = await waitSnapshot(ctx.cluster, ctx.d.namespace, name, 'cut', opts.timeoutSeconds * 1000);
        const what =
          ctx.mode === 'live'
            ? 'crash-consistent (the server ran; a CHECKPOINT came first)'
            : ctx.controlData?.cleanShutdown
              ? 'of a cleanly shut down cluster'
              : `of a stopped cluster that was not shut down cleanly (${ctx.controlData?.state})`;
        task.title = `Take the VolumeSnapshot ${name}: cut at ${ctx.record.cutAt}, ${what}`;
      },
    },
    {
      title: 'Fingerprint the database again, to tell what the applications wrote while the snapshot was cut',
      enabled: (ctx) => live(ctx) && opts.verify,
      task: async (ctx, task) => {
        ctx.after = await fingerprintVia(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password);
        const { written } = stableAcrossCut(ctx.before as Fingerprint, ctx.after);
        task.title = `Fingerprint the database again: ${written.length ? `${written.length} tables or sequences were written meanwhile` : 'nothing was written meanwhile'}`;
      },
    },
    {
      title: 'Wait until the snapshot is ready to use',
      enabled: () => opts.wait || opts.verify,
      task: async (ctx, task) => {
        const started = Date.now();
        ctx.record = await waitSnapshot(
          ctx.cluster,
          ctx.d.namespace,
          ctx.snap.metadata.name,
          'ready',
          opts.timeoutSeconds * 1000,
        );
        const size = ctx.record.restoreSizeBytes ? `, restore size ${formatBytes(ctx.record.restoreSizeBytes)}` : '';
        task.title = `Wait until the snapshot is ready to use: ready after ${((Date.now() - started) / 1000).toFixed(1)} s${size}`;
      },
    },
    {
      title: 'Verify: restore the snapshot to a temporary PVC and start PostgreSQL on it',
      enabled: () => opts.verify,
      task: async (ctx, task) => {
        const base = task.title;
        ctx.verify = await verifyCopy(ctx, (s) => (task.title = `${base}: ${s}`));
        const t = ctx.verify.totals;
        task.title =
          `Verify: the copy started and ${ctx.verify.ok ? 'matches' : 'DIFFERS FROM'} the ${ctx.verify.against} ` +
          `(${t.databases} databases, ${t.tables} tables, ${t.rows} rows${ctx.verify.writtenDuringCut.length ? `; ${ctx.verify.writtenDuringCut.length} written during the cut` : ''}); ` +
          'temporary PVC and pod deleted';
      },
    },
  ];
}
