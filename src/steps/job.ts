import type { Cluster, KObject } from '../k8s/cluster.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { isInterrupted } from '../interrupt.ts';
import { poll } from './poll.ts';
import { redactSecrets } from '../postgres/redact.ts';

/** The outcome of the upgrade Job. */
export interface JobOutcome {
  ok: boolean;
  /** From creating the Job to its pod running. */
  startMs: number;
  pod?: string;
  log: string;
  reason?: string;
}

interface JobShape {
  labels: Record<string, string>;
  containers: Array<{ image?: string; command?: string[]; args?: string[] }>;
}

function shapeOf(o: KObject): JobShape {
  const spec = o.spec as { template?: { spec?: { containers?: JobShape['containers'] } } } | undefined;
  return {
    labels: (o.metadata.labels ?? {}) as Record<string, string>,
    containers: spec?.template?.spec?.containers ?? [],
  };
}

/**
 * A Job found under the expected name is taken as an earlier run's only when it is this plugin's, for the same
 * work: its labels, and each container's image, command and arguments, are those the plugin would create. Anyone
 * else's Job of that name (made to have its outcome adopted, or to run another image on the data) stops the run.
 */
export function verifyOwnJob(found: KObject, wanted: KObject): void {
  const [f, w] = [shapeOf(found), shapeOf(wanted)];
  const labels = Object.entries(w.labels).every(([k, v]) => f.labels[k] === v);
  const same = (a: JobShape['containers'][number], b: JobShape['containers'][number] | undefined) =>
    a.image === b?.image &&
    JSON.stringify(a.command ?? []) === JSON.stringify(b?.command ?? []) &&
    JSON.stringify(a.args ?? []) === JSON.stringify(b?.args ?? []);
  if (labels && f.containers.length === w.containers.length && w.containers.every((c, i) => same(c, f.containers[i])))
    return;
  const ns = wanted.metadata.namespace ?? '';
  throw new CliError(
    `Job ${ns}/${wanted.metadata.name} exists but is not the one this run would create (${
      labels ? 'its image, command or arguments differ' : "it lacks the plugin's labels"
    }): it is not taken for this upgrade's. Nothing was changed by it; look at it (kubectl -n ${ns} get job ` +
      `${wanted.metadata.name} -o yaml), delete it if it is not yours to keep, then run the command again`,
    ExitCode.failed,
  );
}

/**
 * Creates the Job (or finds the one an earlier run created), streams its pod's log as it runs, and waits for it to
 * complete or fail. The log is passed on with every password hidden: a failed pg_upgrade's own logs, which the
 * Job prints, quote the statement that failed (a user mapping's or a subscription's password in it).
 */
export async function runJob(
  cluster: Cluster,
  ns: string,
  job: KObject,
  onLog: (text: string) => void,
  timeoutMs: number,
): Promise<JobOutcome> {
  const name = job.metadata.name;
  const jobRef = { apiVersion: 'batch/v1', kind: 'Job', namespace: ns, name };
  const t0 = Date.now();
  const existing = await cluster.readObject(jobRef);
  if (existing) verifyOwnJob(existing, job);
  else {
    if (isInterrupted()) throw new Error('interrupted');
    await cluster.createObject(job);
  }
  const pod = await poll(
    `the pod of Job ${ns}/${name} to start`,
    timeoutMs,
    async () => {
      const pods = await cluster.listPods(ns, { 'job-name': name });
      const p = pods.find((x) => x.phase !== 'Pending') ?? undefined;
      if (p) return p.metadata.name;
      const waiting = pods[0] ? await cluster.podState(ns, pods[0].metadata.name) : undefined;
      if (
        waiting?.reason &&
        /ErrImagePull|ImagePullBackOff|InvalidImageName|CreateContainerConfigError/.test(waiting.reason)
      ) {
        throw new CliError(
          `the upgrade Job's pod ${pods[0]?.metadata.name} cannot start: ${waiting.reason}; nothing on the volume was changed`,
          ExitCode.failed,
        );
      }
      return undefined;
    },
    `kubectl -n ${ns} describe job ${name}`,
  );
  const startMs = Date.now() - t0;
  let log = '';
  const follow = cluster.followLog(ns, pod, 'upgrade', (t) => {
    log += t;
    onLog(redactSecrets(t));
  });
  try {
    const end = await poll(
      `Job ${ns}/${name} to finish`,
      timeoutMs,
      async () => {
        const o = await cluster.readObject(jobRef);
        const conds = (o?.status?.conditions ?? []) as Array<{
          type: string;
          status: string;
          reason?: string;
          message?: string;
        }>;
        const failed = conds.find((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
        if (failed)
          return { ok: false, reason: `${failed.reason ?? 'Failed'}${failed.message ? `: ${failed.message}` : ''}` };
        if (conds.some((c) => c.type === 'Complete' && c.status === 'True') || (o?.status?.succeeded ?? 0) > 0)
          return { ok: true };
        // The pod's own success is known before the Job controller records it: that lag is downtime.
        if ((await cluster.podState(ns, pod))?.phase === 'Succeeded') return { ok: true };
        return undefined;
      },
      `kubectl -n ${ns} logs job/${name}`,
    );
    // The stream usually has the last lines by now; if not, the stored log is one GET away (no waiting in downtime).
    await Promise.race([follow.done, new Promise((r) => setTimeout(r, 150))]);
    if (!/pgupgrade: (done|finished)|already PostgreSQL/.test(log))
      log = await cluster.podLog(ns, pod, 'upgrade').catch(() => log);
    return { ...end, startMs, pod, log: redactSecrets(log) };
  } finally {
    follow.abort();
  }
}
