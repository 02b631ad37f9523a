import type { ListrTask } from 'listr2';
import type { Cluster } from '../k8s/cluster.ts';
import { discover, DUMP_SOURCE, requireVolume, type SourceDiscovery } from '../discovery/discover.ts';
import { findDumpTarget } from '../discovery/dump-target.ts';
import { usageError } from '../exit-codes.ts';
import { loadFingerprint } from '../fingerprint/store.ts';
import { refOf } from '../postgres/workload.ts';
import { readPassword } from '../server/reach.ts';
import { dumpReferenceName } from '../state/dump-state.ts';
import { loadReference, type Reference } from '../state/reference.ts';
import { type DumpRecord, readRecorded } from '../state/recorded.ts';
import { dumpView, inPlaceView, type ValidatedUpgrade } from '../state/validated-upgrade.ts';
import type { ValidateCtx, ValidateOptions } from './ctx.ts';

interface Found {
  /** The server to validate: the workload itself (in place), or the new instance (by dump). */
  d: SourceDiscovery;
  view: ValidatedUpgrade;
  configMap: string;
  /** Whose Secret holds the password: the source's (in place, and the plugin's own new instance), or an existing target's own. */
  creds?: SourceDiscovery;
}

/**
 * The upgrade recorded for the workload found, by readRecorded's precedence: by dump (unless rolled back), else in
 * place. By dump, the server to validate is the new instance that the record names, reached with the source's Secret
 * (an existing target named by --target: with its own).
 */
async function findUpgrade(cluster: Cluster, d: SourceDiscovery): Promise<Found> {
  const where = `${d.workload.kind} ${d.namespace}/${d.workload.metadata.name}`;
  const rec = await readRecorded(cluster, d);
  if (rec.active?.method === 'dump' && rec.active.state.phase !== 'rolled-back')
    return findDumpUpgrade(cluster, d, rec.active);
  // In place: a PVC at PGDATA, and a password that was never read from the manifest (an in-place upgrade refuses one).
  const onVolume = {
    ...requireVolume(d, 'no upgrade by dump of it is recorded, and nothing else could have upgraded it'),
    readsInlinePassword: false,
  };
  if (rec.inPlace) return { d: onVolume, view: inPlaceView(rec.inPlace.state), configMap: rec.inPlace.name };
  const newInstance = d.workload.metadata.annotations?.['pgupgrade.kubectl.io/source'];
  if (newInstance)
    throw usageError(
      `${where} is the new instance of an upgrade by dump of ${newInstance}: validate that one (kubectl pgupgrade validate -n ${d.namespace} ${newInstance})`,
    );
  if (rec.dump) {
    throw usageError(
      `the upgrade by dump of ${where} was rolled back: its old instance serves (PostgreSQL ${rec.dump.state.fromVersion}); nothing to validate. ` +
        `check it: kubectl pgupgrade check -n ${d.namespace} ${refOf(rec.dump.state.workload)}`,
    );
  }
  throw usageError(
    `no upgrade of ${where} is recorded (ConfigMap ${rec.names.inPlace}): validate proves an upgrade made by kubectl pgupgrade; run check for a database that was not upgraded`,
  );
}

/** By dump: the new instance the record names, found as the plugin made it or, named by --target, as it is. */
async function findDumpUpgrade(
  cluster: Cluster,
  d: SourceDiscovery,
  { name, state: dump }: DumpRecord,
): Promise<Found> {
  const where = `${d.workload.kind} ${d.namespace}/${d.workload.metadata.name}`;
  // An existing instance named by --target is reached as it is discovered, with its own superuser and Secret.
  const there = dump.target.existing && (await cluster.getWorkload(d.namespace, dump.target.kind, dump.target.name));
  const target = dump.target.existing
    ? there
      ? await discover(cluster, d.namespace, refOf(dump.target), {}, DUMP_SOURCE)
      : undefined
    : await findDumpTarget(cluster, d, dump.target);
  if (!target) {
    throw usageError(
      `${where} was upgraded by dump into ${dump.target.kind} ${dump.target.name}, which is gone: nothing to validate ` +
        `(kubectl -n ${d.namespace} get ${dump.target.kind.toLowerCase()} ${dump.target.name})`,
    );
  }
  return {
    d: target,
    view: dumpView(dump, dumpReferenceName(name)),
    configMap: name,
    ...(dump.target.existing ? { creds: target } : {}),
  };
}

/** The reference fingerprint: in place, this upgrade's (from its snapshot, or the running server); by dump, the source's, read once the applications were down. */
export async function readReference(cluster: Cluster, ns: string, s: ValidatedUpgrade): Promise<Reference | undefined> {
  if (s.reference === 'in-place') return loadReference(cluster, ns, s.fingerprintConfigMap, s);
  const fingerprint = await loadFingerprint(cluster, ns, s.fingerprintConfigMap);
  return (
    fingerprint && {
      fingerprint,
      source: `source ${refOf(s.workload)} once the applications were down (nothing writes it since)`,
    }
  );
}

/** Finds the workload, its record, and the server to validate. */
export function findTask(opts: ValidateOptions): ListrTask<ValidateCtx> {
  return {
    title: 'Find the workload and the record of its upgrade',
    task: async (ctx, task) => {
      // The source of an upgrade by dump may have no volume and its password in its manifest (DUMP_SOURCE).
      const source = await discover(
        ctx.cluster,
        ctx.cluster.namespace,
        opts.workload,
        {},
        { superuserSecret: opts.superuserSecret, ...DUMP_SOURCE },
      );
      const { d, view: s, configMap, creds } = await findUpgrade(ctx.cluster, source);
      ctx.d = d;
      ctx.state = s;
      ctx.stateConfigMap = configMap;
      ctx.repairs = [];
      const into = s.target ? ` into ${s.target.kind} ${s.target.name}` : '';
      if (!ctx.d.pod?.ready)
        return void (task.title = `Found the upgrade from ${s.fromVersion} to ${s.to}${into}; the database has no Ready pod`);
      ctx.password = await readPassword(
        ctx.cluster,
        s.reference === 'in-place' ? { ...source, readsInlinePassword: false } : (creds ?? source),
      );
      task.title = `Found the upgrade from ${s.fromVersion} to ${s.to} (--${s.method})${into}, recorded "${s.phase}"; pod ${ctx.d.pod.metadata.name}`;
    },
  };
}
