import type { Container } from '../k8s/pod-spec.ts';
import { OFFICIAL_DATA_DIR, type Flavour } from './workload.ts';

/**
 * PGDATA at the root of its volume (the official image's default: a claim at /var/lib/postgresql/data and no
 * PGDATA) cannot be upgraded by swapping directories, as a mount point cannot be renamed. On one filesystem a
 * rename is free, so the upgrade Job moves the old cluster into `<root>/<new major>/docker` (the layout that the
 * official image adopted in 18, docker-library/postgres#1259), builds the new one beside it, and the workload is
 * pointed at it in the same patch as the image: the claim at the new mount path, PGDATA set. Rollback undoes both.
 */
export interface Relayout {
  /** The data volume's mount path before and after. */
  fromMount: string;
  toMount: string;
  /** PGDATA after the upgrade. */
  pgdata: string;
  /** The PGDATA entry of the container's env before (its value), or null when it set none. */
  pgdataEnv: string | null;
}

/** The change for a workload whose PGDATA is its volume's root, or undefined when it is not (or cannot be moved). */
export function relayoutFor(
  d: { pgdata: string; mountPath: string; flavour: Flavour; container: Container },
  to: number,
): Relayout | 'bitnami' | undefined {
  const trim = (p: string) => p.replace(/\/+$/, '') || '/';
  if (trim(d.pgdata) !== trim(d.mountPath)) return undefined;
  // Bitnami's scripts take the data directory from POSTGRESQL_DATA_DIR and expect their own tree under it.
  if (d.flavour === 'bitnami') return 'bitnami';
  const fromMount = trim(d.mountPath);
  const toMount = fromMount === OFFICIAL_DATA_DIR ? '/var/lib/postgresql' : fromMount;
  const env = d.container.env?.find((e) => e.name === 'PGDATA');
  return {
    fromMount,
    toMount,
    pgdata: `${toMount === '/' ? '' : toMount}/${to}/docker`,
    pgdataEnv: env?.value ?? null,
  };
}

/** What the report says of it. */
export function relayoutNote(r: Relayout): string {
  return (
    `PGDATA ${r.fromMount} is the root of its volume: the upgrade Job moves the cluster into ${r.pgdata.replace(r.toMount, '<volume>')} (a rename ` +
    `on one filesystem), and the workload is pointed at it with the image: the claim ${r.fromMount === r.toMount ? 'stays' : 'is mounted'} at ${r.toMount}, ` +
    `PGDATA=${r.pgdata}; --rollback puts the original layout back`
  );
}

/** The data volume's mount path in the database container and its PGDATA entry (null: none). */
export interface DataLayout {
  mountPath: string;
  pgdata: string | null;
}

/**
 * The containers with the database container's data mount and PGDATA set to `to` (its image too, when given); the
 * other containers as they are. Pure: the caller sends the result with the resourceVersion it read.
 */
export function withDataLayout<C extends Container>(
  containers: C[],
  name: string,
  from: DataLayout,
  to: DataLayout,
  image?: string,
): C[] {
  return containers.map((c) => {
    if (c.name !== name) return c;
    const mounts = (c.volumeMounts ?? []).map((m) =>
      m.mountPath.replace(/\/+$/, '') === from.mountPath ? { ...m, mountPath: to.mountPath } : m,
    );
    const env = (c.env ?? []).filter((e) => e.name !== 'PGDATA');
    const at = (c.env ?? []).findIndex((e) => e.name === 'PGDATA');
    if (to.pgdata !== null) env.splice(at < 0 ? env.length : at, 0, { name: 'PGDATA', value: to.pgdata });
    return { ...c, ...(image ? { image } : {}), volumeMounts: mounts, env };
  });
}
