import type { Cluster, KObject } from '../k8s/cluster.ts';

export { isTransient } from '../k8s/retry.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { isInterrupted } from '../interrupt.ts';
import { isTransient } from '../k8s/retry.ts';
import { stateConfigMap, type ScaledWorkload, type UpgradeState } from './state.ts';

const POLL_MS = 250;

/** Polls until `fn` gives a value, or fails with a message that says what was awaited and what to look at. */
export async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, hint = ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    let v: T | undefined;
    try {
      v = await fn();
    } catch (err) {
      // An apiserver that is briefly unreachable or overloaded is waited out, within the same deadline.
      if (!isTransient(err)) throw err;
      lastError = (err as Error).message;
    }
    if (v !== undefined) return v;
    if (lastError && Date.now() > deadline) throw new CliError(`the apiserver did not answer while waiting for ${what}: ${lastError}`, ExitCode.failed);
    if (isInterrupted()) throw new Error('interrupted');
    if (Date.now() > deadline) throw new CliError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${hint ? `; ${hint}` : ''}`, ExitCode.failed);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const ref = (ns: string, w: { kind: string; name: string }) => ({ apiVersion: 'apps/v1', kind: w.kind, namespace: ns, name: w.name });

/** Sets a workload's replicas. */
export async function scaleTo(cluster: Cluster, ns: string, w: { kind: string; name: string }, replicas: number): Promise<void> {
  await cluster.patchObject(ref(ns, w), { spec: { replicas } }, 'merge');
}

/** Waits until no pod matches the selector (deleted, not just terminating). */
export async function waitPodsGone(cluster: Cluster, ns: string, selector: Record<string, string>, what: string, timeoutMs: number): Promise<void> {
  await poll(`${what} to be deleted`, timeoutMs, async () => ((await cluster.listPods(ns, selector)).length === 0 ? true : undefined),
    `look at them: kubectl -n ${ns} get pods -l ${Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')}`);
}

/** Waits until no VolumeAttachment holds the PV: the volume is detached from every node. */
export async function waitDetached(cluster: Cluster, pv: string, timeoutMs: number): Promise<void> {
  await poll(`the VolumeAttachment of ${pv} to be deleted (the volume to detach)`, timeoutMs, async () => {
    const vas = await cluster.listObjects('storage.k8s.io/v1', 'VolumeAttachment', '');
    return vas.some((v) => v.spec?.source?.persistentVolumeName === pv) ? undefined : true;
  }, `kubectl get volumeattachments | grep ${pv}; a node that is gone can hold it until its attach-detach timeout`);
}

/** Waits until a workload has `replicas` ready pods of its current revision. */
export async function waitWorkloadReady(cluster: Cluster, ns: string, w: ScaledWorkload, timeoutMs: number): Promise<void> {
  await poll(`${w.kind} ${ns}/${w.name} to have ${w.replicas} ready replicas`, timeoutMs, async () => {
    const o = await cluster.readObject(ref(ns, w));
    const st = o?.status ?? {};
    const observed = (st.observedGeneration ?? 0) >= (o?.metadata.generation ?? 0);
    const updated = (st.updatedReplicas ?? 0) >= w.replicas || (w.kind === 'StatefulSet' && st.currentRevision === st.updateRevision);
    return observed && updated && (st.readyReplicas ?? 0) >= w.replicas ? true : undefined;
  }, `kubectl -n ${ns} describe ${w.kind.toLowerCase()} ${w.name}`);
}

/** Sets one container's image (strategic merge: the other containers stay as they are). */
export async function patchImage(cluster: Cluster, ns: string, w: { kind: string; name: string }, container: string, image: string): Promise<void> {
  await cluster.patchObject(ref(ns, w), { spec: { template: { spec: { containers: [{ name: container, image }] } } } }, 'strategic');
}

/**
 * Writes the state ConfigMap over the version last read or written (`version`; undefined: it must not exist yet),
 * and returns the new version. A 409 means that another writer changed it meanwhile: stop rather than overwrite.
 */
export async function saveState(cluster: Cluster, ns: string, name: string, s: UpgradeState, version: string | undefined): Promise<string | undefined> {
  const cm = stateConfigMap(name, ns, s);
  try {
    const out = version === undefined ? await cluster.createObject(cm)
      : await cluster.patchObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name }, { metadata: { resourceVersion: version }, data: cm.data }, 'merge');
    return out.metadata.resourceVersion;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    throw new CliError(`ConfigMap ${ns}/${name}, the record of this upgrade, was changed by someone else while this run went on (another run of ` +
      `kubectl pgupgrade?); this run stops here, before recording "${s.phase}". Look: kubectl -n ${ns} get configmap ${name} -o yaml; ` +
      `then run the same command again, which goes on from the record as it is`, ExitCode.failed);
  }
}

/** The outcome of the upgrade Job. */
export interface JobOutcome {
  ok: boolean;
  /** From creating the Job to its pod running. */
  startMs: number;
  pod?: string;
  log: string;
  reason?: string;
}

/**
 * Creates the Job (or finds the one an earlier run created), streams its pod's log as it runs, and waits for it to
 * complete or fail.
 */
export async function runJob(cluster: Cluster, ns: string, job: KObject, onLog: (text: string) => void, timeoutMs: number): Promise<JobOutcome> {
  const name = job.metadata.name;
  const jobRef = { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name };
  const t0 = Date.now();
  if (!(await cluster.readObject(jobRef))) {
    if (isInterrupted()) throw new Error('interrupted');
    await cluster.createObject(job);
  }
  const pod = await poll(`the pod of Job ${ns}/${name} to start`, timeoutMs, async () => {
    const pods = await cluster.listPods(ns, { 'job-name': name });
    const p = pods.find((x) => x.phase !== 'Pending') ?? undefined;
    if (p) return p.metadata.name;
    const waiting = pods[0] ? await cluster.podState(ns, pods[0].metadata.name) : undefined;
    if (waiting?.reason && /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerConfigError/.test(waiting.reason)) {
      throw new CliError(`the upgrade Job's pod ${pods[0]?.metadata.name} cannot start: ${waiting.reason}; nothing on the volume was changed`, ExitCode.failed);
    }
    return undefined;
  }, `kubectl -n ${ns} describe job ${name}`);
  const startMs = Date.now() - t0;
  let log = '';
  const follow = cluster.followLog(ns, pod, 'upgrade', (t) => {
    log += t;
    onLog(t);
  });
  try {
    const end = await poll(`Job ${ns}/${name} to finish`, timeoutMs, async () => {
      const o = await cluster.readObject(jobRef);
      const conds = (o?.status?.conditions ?? []) as Array<{ type: string; status: string; reason?: string; message?: string }>;
      const failed = conds.find((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
      if (failed) return { ok: false, reason: `${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''}` };
      if (conds.some((c) => c.type === 'Complete' && c.status === 'True') || (o?.status?.succeeded ?? 0) > 0) return { ok: true };
      return undefined;
    }, `kubectl -n ${ns} logs job/${name}`);
    // The stream usually has the last lines by now; if not, the stored log is one GET away (no waiting in downtime).
    await Promise.race([follow.done, new Promise((r) => setTimeout(r, 150))]);
    if (!/pgupgrade: (done|finished)|already PostgreSQL/.test(log)) log = await cluster.podLog(ns, pod, 'upgrade').catch(() => log);
    return { ...end, startMs, pod, log };
  } finally {
    follow.abort();
  }
}
