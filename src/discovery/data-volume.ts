import { usageError } from '../exit-codes.ts';
import type { Cluster, Pvc, Workload } from '../k8s/cluster.ts';
import type { Container } from '../k8s/pod-spec.ts';
import { claimNameOf, dataMountOf, mountsAt, OFFICIAL_DATA_DIR } from '../postgres/workload.ts';

/**
 * The PVC mounted at PGDATA, or undefined where no volume is mounted there and the caller takes a source without one
 * (the dump method); exit 2 where one is needed and missing.
 */
export async function sourceVolume(
  cluster: Cluster,
  ns: string,
  workload: Workload,
  container: Container,
  pgdata: string,
  volumeOptional: boolean,
): Promise<{ pvc: Pvc; mountPath: string } | undefined> {
  const mount = dataMountOf(container, pgdata);
  const where = `${workload.kind} ${ns}/${workload.metadata.name}`;
  if (!mount && !volumeOptional) {
    throw usageError(
      movedTo18Advice(container, workload, ns, pgdata) ??
        `${where}: no volume is mounted at PGDATA ${pgdata}; the data lives in the container's writable layer and would not survive a restart, ` +
          'so there is nothing to upgrade in place. Move it into a new instance with a PVC: --method dump',
    );
  }
  return mount ? await dataVolume(cluster, ns, workload, where, mount) : undefined;
}

/** The PVC mounted at PGDATA; exit 2 when the volume there is not a claim, or the claim does not exist. */
async function dataVolume(
  cluster: Cluster,
  ns: string,
  workload: Workload,
  where: string,
  mount: { volume: string; mountPath: string },
): Promise<{ pvc: Pvc; mountPath: string }> {
  const claim = claimNameOf(workload, mount.volume);
  if (!claim)
    throw usageError(`${where}: the volume ${mount.volume} at ${mount.mountPath} is not a PersistentVolumeClaim`);
  const pvc = await cluster.getPvc(ns, claim);
  if (!pvc) throw usageError(`${where}: its data PVC ${claim} does not exist`);
  return { pvc, mountPath: mount.mountPath };
}

/**
 * The official image moved to 18 over a volume mounted at the old path (docker-library/postgres#1370): 18 looks for
 * its data in /var/lib/postgresql/18/docker and refuses to start beside the old mount. The way out, in words.
 */
function movedTo18Advice(c: Container, w: Workload, ns: string, pgdata: string): string | undefined {
  if (
    !mountsAt(c, OFFICIAL_DATA_DIR) ||
    !/^\/var\/lib\/postgresql\/\d+\/docker$/.test(pgdata) ||
    c.env?.some((e) => e.name === 'PGDATA')
  )
    return undefined;
  return (
    `${w.kind} ${ns}/${w.metadata.name} runs ${c.image}, whose data directory is ${pgdata}, but its volume is mounted at /var/lib/postgresql/data, the layout up to ` +
    `PostgreSQL 17: the image was moved to a new major without the data, and the server refuses to start ("in 18+, these Docker images are ` +
    `configured to store database data in a format which is compatible with pg_ctlcluster"). Set the image back to the PostgreSQL image that made ` +
    `the data (kubectl -n ${ns} set image ${w.kind.toLowerCase()}/${w.metadata.name} ${c.name}=postgres:<its major>), then run ` +
    `kubectl pgupgrade upgrade -n ${ns} --to ${/\/(\d+)\/docker$/.exec(pgdata)?.[1]}: it moves the data into 18's layout and points the workload at it`
  );
}
