import type { Cluster, KObject, Workload } from '../k8s/cluster.ts';
import type { Container } from '../k8s/pod-spec.ts';
import { clientReason, workloadClientReason } from '../postgres/server-or-client.ts';
import { isPostgresImage, isPostgresWorkload, refOf } from '../postgres/workload.ts';

/** A workload, CronJob or Job that runs a PostgreSQL image as a client, and why it is not the database. */
export interface ImageClient {
  ref: string;
  why: string;
}

/** `ref (why)` for each client, as reports and errors name them. */
export const describeClients = (clients: ImageClient[]): string[] => clients.map((c) => `${c.ref} (${c.why})`);

/** For a task title: `; clients of the image, not the database: a, b`, or nothing. */
export const clientsNote = (clients: ImageClient[]): string =>
  clients.length ? `; clients of the image, not the database: ${clients.map((c) => c.ref).join(', ')}` : '';

/** The PostgreSQL workloads of a namespace, parted into the servers (candidates) and the clients (named, with why). */
export function partWorkloads(all: Workload[]): { servers: Workload[]; clients: ImageClient[] } {
  const pg = all.filter(isPostgresWorkload);
  const why = new Map(pg.map((w) => [w, workloadClientReason(w)]));
  return {
    servers: pg.filter((w) => !why.get(w)),
    clients: pg
      .filter((w) => why.get(w))
      .map((w) => ({ ref: refOf({ kind: w.kind, name: w.metadata.name }), why: why.get(w) ?? '' })),
  };
}

type PodTemplate = { spec?: { containers?: Container[] } };

/** A CronJob's or a running Job's container on a PostgreSQL image, named with what it runs. */
function jobClient(kind: 'cronjob' | 'job', o: KObject, template: PodTemplate | undefined): ImageClient | undefined {
  const c = template?.spec?.containers?.find((x) => isPostgresImage(x.image));
  return c
    ? { ref: `${kind}/${o.metadata.name}`, why: clientReason(c) ?? "a Job's pod, which runs to completion" }
    : undefined;
}

/**
 * The CronJobs and running Jobs of the namespace that run a PostgreSQL image (backups, migrations, psql jobs):
 * never the database, named so that the report says what else uses the image. A user not allowed to list them
 * gets none: they only inform.
 */
export async function listJobClients(cluster: Cluster, ns: string): Promise<ImageClient[]> {
  const list = (kind: string) =>
    cluster.listObjects('batch/v1', kind, ns).catch((err: { code?: number }) => {
      if (err.code === 403 || err.code === 404) return [] as KObject[];
      throw err;
    });
  const [cronJobs, jobs] = await Promise.all([list('CronJob'), list('Job')]);
  const ours = (o: KObject) => o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'kubectl-pgupgrade';
  return [
    ...cronJobs.filter((o) => !ours(o)).map((o) => jobClient('cronjob', o, o.spec?.jobTemplate?.spec?.template)),
    ...jobs
      .filter(
        (o) =>
          !ours(o) &&
          !(o.metadata.ownerReferences ?? []).some((r) => r.kind === 'CronJob') &&
          (o.status?.active ?? 0) > 0,
      )
      .map((o) => jobClient('job', o, o.spec?.template)),
  ].filter((x): x is ImageClient => x !== undefined);
}
