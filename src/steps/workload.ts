import type { Cluster, KObject } from '../k8s/cluster.ts';
import type { Container } from '../k8s/pod-spec.ts';
import { labelSelectorString, type LabelRequirement } from '../k8s/selector.ts';
import { mountsAt } from '../postgres/workload.ts';
import type { ScaledWorkload } from '../state/state.ts';
import { withDataLayout, type DataLayout } from '../postgres/relayout.ts';
import { poll } from './poll.ts';

const ref = (ns: string, w: { kind: string; name: string }) => ({
  apiVersion: 'apps/v1',
  kind: w.kind,
  namespace: ns,
  name: w.name,
});

/** Sets a workload's replicas. */
export async function scaleTo(
  cluster: Cluster,
  ns: string,
  w: { kind: string; name: string },
  replicas: number,
): Promise<void> {
  await cluster.patchObject(ref(ns, w), { spec: { replicas } }, 'merge');
}

/** Waits until no pod matches the selector (deleted, not just terminating). */
export async function waitPodsGone(
  cluster: Cluster,
  ns: string,
  selector: Record<string, string>,
  what: string,
  timeoutMs: number,
  expressions?: LabelRequirement[],
): Promise<void> {
  await poll(
    `${what} to be deleted`,
    timeoutMs,
    async () => ((await cluster.listPods(ns, selector, expressions)).length === 0 ? true : undefined),
    `look at them: kubectl -n ${ns} get pods -l '${labelSelectorString(selector, expressions)}'`,
  );
}

/** Waits until no VolumeAttachment holds the PV: the volume is detached from every node. */
export async function waitDetached(cluster: Cluster, pv: string, timeoutMs: number): Promise<void> {
  await poll(
    `the VolumeAttachment of ${pv} to be deleted (the volume to detach)`,
    timeoutMs,
    async () => {
      const vas = await cluster.listObjects('storage.k8s.io/v1', 'VolumeAttachment', '');
      return vas.some((v) => v.spec?.source?.persistentVolumeName === pv) ? undefined : true;
    },
    `kubectl get volumeattachments | grep ${pv}; a node that is gone can hold it until its attach-detach timeout`,
  );
}

/** Does the workload have `replicas` ready pods of its current revision (its rollout complete)? Pure. */
export function isRolledOut(o: KObject | undefined, w: ScaledWorkload): boolean {
  const st = o?.status ?? {};
  const observed = (st.observedGeneration ?? 0) >= (o?.metadata.generation ?? 0);
  const updated =
    (st.updatedReplicas ?? 0) >= w.replicas || (w.kind === 'StatefulSet' && st.currentRevision === st.updateRevision);
  return observed && updated && (st.readyReplicas ?? 0) >= w.replicas;
}

/** Waits until a workload has `replicas` ready pods of its current revision. */
export async function waitWorkloadReady(
  cluster: Cluster,
  ns: string,
  w: ScaledWorkload,
  timeoutMs: number,
): Promise<void> {
  await poll(
    `${w.kind} ${ns}/${w.name} to have ${w.replicas} ready replicas`,
    timeoutMs,
    async () => (isRolledOut(await cluster.readObject(ref(ns, w)), w) ? true : undefined),
    `kubectl -n ${ns} describe ${w.kind.toLowerCase()} ${w.name}`,
  );
}

/** Sets one container's image (strategic merge: the other containers stay as they are). */
export async function patchImage(
  cluster: Cluster,
  ns: string,
  w: { kind: string; name: string },
  container: string,
  image: string,
): Promise<void> {
  await cluster.patchObject(
    ref(ns, w),
    { spec: { template: { spec: { containers: [{ name: container, image }] } } } },
    'strategic',
  );
}

/**
 * Sets the database container's image, its data mount path and PGDATA in one patch (relayout.ts), sent with the
 * resourceVersion read (`read`, the object the caller judged, else read now), so that a change made meanwhile by
 * someone else fails it instead of being overwritten.
 */
export async function patchDataLayout(
  cluster: Cluster,
  ns: string,
  w: { kind: string; name: string },
  container: string,
  image: string,
  from: DataLayout,
  to: DataLayout,
  read?: KObject,
): Promise<void> {
  const o = read ?? (await cluster.readObject(ref(ns, w)));
  if (!o) throw new Error(`${w.kind} ${ns}/${w.name} is gone`);
  const containers = withDataLayout(o.spec?.template?.spec?.containers ?? [], container, from, to, image);
  await cluster.patchObject(
    ref(ns, w),
    { metadata: { resourceVersion: o.metadata.resourceVersion }, spec: { template: { spec: { containers } } } },
    'merge',
  );
}

/** Does the database container mount its data and set PGDATA as `want` says? */
export function hasDataLayout(o: KObject | undefined, container: string, want: DataLayout): boolean {
  const c = ((o?.spec?.template?.spec?.containers ?? []) as Container[]).find((x) => x.name === container);
  const pgdata = c?.env?.find((e) => e.name === 'PGDATA')?.value ?? null;
  return !!c && pgdata === want.pgdata && mountsAt(c, want.mountPath);
}
