import type { Cluster, KObject } from '../k8s/cluster.ts';
import {
  ownerHeals,
  ownerKey,
  pausePatch,
  priorOf,
  resumePatch,
  type OwnerReading,
  type OwnerRef,
  type PausedOwner,
} from '../postgres/gitops-pause.ts';

const statusOf = (err: unknown): number | undefined => {
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number } };
  return e.code ?? e.statusCode ?? e.response?.statusCode;
};

/** Why an owner could not be read, in a few words (forbidden, or no such API: CRD absent). */
function unreadable(ref: OwnerRef, err: unknown): string {
  const code = statusOf(err);
  if (code === 403) return `reading ${ownerKey(ref)} is forbidden (403)`;
  return `${ownerKey(ref)} could not be read (${code ? `HTTP ${code}` : (err as Error).message.split('\n')[0]})`;
}

/**
 * Reads each Application, Kustomization or HelmRelease the markers name, read-only, to know whether it heals now.
 * Not found, forbidden or an API the cluster does not serve is no error: that owner is judged by its markers.
 */
export async function readOwners(cluster: Cluster, refs: OwnerRef[]): Promise<OwnerReading[]> {
  return Promise.all(
    refs.map(async (ref): Promise<OwnerReading> => {
      let obj: KObject | undefined;
      try {
        obj = await cluster.readObject(ref);
      } catch (err) {
        return { ref, why: unreadable(ref, err) };
      }
      if (!obj) return { ref, why: `${ownerKey(ref)} was not found (404)` };
      return { ref, obj: obj as never, ...ownerHeals(ref.kind, obj as never) };
    }),
  );
}

/** The owners as they are now, each with the value its pause will change (to record before pausing). */
export async function priorsOf(cluster: Cluster, refs: OwnerRef[]): Promise<PausedOwner[]> {
  return Promise.all(
    refs.map(async (ref) => {
      const obj = await cluster.readObject(ref);
      if (!obj) throw new Error(`${ownerKey(ref)} was not found: it cannot be paused`);
      return priorOf(ref, obj as never);
    }),
  );
}

/** Pauses each owner (merge patch as field manager kubectl-pgupgrade). */
export async function pauseOwners(cluster: Cluster, owners: OwnerRef[]): Promise<void> {
  for (const o of owners) await cluster.patchObject(o, pausePatch(o), 'merge');
}

/** Puts each paused owner back exactly as it was; one that is gone is left (nothing to resume). */
export async function resumeOwners(cluster: Cluster, owners: PausedOwner[]): Promise<string[]> {
  const done: string[] = [];
  for (const o of owners) {
    if (!(await cluster.readObject(o))) continue;
    await cluster.patchObject(o, resumePatch(o), 'merge');
    done.push(ownerKey(o));
  }
  return done;
}
