import { randomBytes } from 'node:crypto';
import type { Cluster } from '../k8s/cluster.ts';
import { isInterrupted, onInterrupt } from '../interrupt.ts';
import { withHeartbeat } from '../postgres/heartbeat.ts';
import { execSilenceMs } from '../k8s/silence.ts';
import { buildProbePod } from '../manifests/probe-pod.ts';
import { parseControlData, type ControlData } from '../postgres/volume-facts.ts';
import {
  CONTROLDATA_SCRIPT,
  PG_UPGRADE_CHECK_SCRIPT,
  RESTORED_START_SCRIPT,
  START_SCRIPT,
  STOP_SCRIPT,
} from '../postgres/probe-scripts.ts';
import type { Discovery } from '../discovery/discover.ts';
import { imageUid } from '../postgres/layout.ts';
import type { Reach } from '../server/reach.ts';

/** A running probe pod, and how to get rid of it. */
export interface Probe extends Reach {
  image: string;
  dispose(): Promise<void>;
}

const POLL_MS = 300;
const START_TIMEOUT_MS = 180_000;
const FATAL = [
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
];

/**
 * Who the probe runs as: the workload's own non-root identity, else its image's postgres user (an official image
 * starts as root and drops to that user itself: 999 on Debian, 70 on Alpine).
 */
export function probeIdentity(d: Discovery): { uid: number; gid: number } {
  const pod = d.workload.template.spec.securityContext;
  const c = d.container.securityContext;
  const set = c?.runAsUser ?? pod?.runAsUser;
  const uid = set === undefined || set === 0 ? imageUid(d.flavour, d.image) : set;
  return { uid, gid: c?.runAsGroup ?? pod?.runAsGroup ?? pod?.fsGroup ?? uid };
}

/**
 * Starts the probe pod on the stopped database's PVC and waits until it runs. It is deleted by dispose(), and
 * also on Ctrl-C; its activeDeadlineSeconds ends it if the plugin is killed outright.
 */
export async function startProbe(
  cluster: Cluster,
  d: Discovery,
  image: string,
  opts: { claim?: string; role?: string; purpose?: string } = {},
): Promise<Probe> {
  if (isInterrupted()) throw new Error('interrupted');
  const role = opts.role ?? 'check-probe';
  const name = `pgupgrade-${role.replace(/-probe$/, '')}-${randomBytes(3).toString('hex')}`;
  const creating = cluster.createPod(d.namespace, probePodOf(d, name, image, role, opts));
  let running = false;
  // A server that check (or pg_upgrade --check) started there is stopped cleanly first, so that an interrupted
  // check never leaves the cluster needing crash recovery; with nothing running, pg_ctl just says so. A Ctrl-C
  // while the create is in flight waits for it, so that the delete cannot come first and leave the pod behind.
  const remove = async () => {
    if (
      !(await creating.then(
        () => true,
        () => false,
      ))
    )
      return;
    if (running)
      await cluster
        .exec(d.namespace, name, 'probe', ['sh', '-c', withHeartbeat(STOP_SCRIPT, execSilenceMs()), 'sh', d.pgdata])
        .catch(() => undefined);
    await cluster.deletePod(d.namespace, name, 0);
  };
  const unregister = onInterrupt(remove);
  try {
    await creating;
  } catch (err) {
    unregister();
    throw err;
  }
  const probe: Probe = {
    pod: name,
    container: 'probe',
    image,
    dispose: async () => {
      unregister();
      await remove();
    },
  };
  try {
    await waitRunning(cluster, d.namespace, name, image);
    running = true;
    return probe;
  } catch (err) {
    await probe.dispose();
    throw err;
  }
}

/** The probe pod on the stopped database's claim, as the workload's own identity. */
function probePodOf(
  d: Discovery,
  name: string,
  image: string,
  role: string,
  opts: { claim?: string; purpose?: string },
): ReturnType<typeof buildProbePod> {
  const { uid, gid } = probeIdentity(d);
  return buildProbePod({
    name,
    namespace: d.namespace,
    workload: `${d.workload.kind}/${d.workload.metadata.name}`,
    image,
    claim: opts.claim ?? d.pvc.metadata.name,
    mountPath: d.mountPath,
    uid,
    gid,
    role,
    purpose: opts.purpose,
  });
}

/** Waits until the probe's container runs; a pull error, an end or the deadline is an error that names the pod. */
async function waitRunning(cluster: Cluster, ns: string, name: string, image: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const s = await cluster.podState(ns, name);
    if (s?.phase === 'Running' && s.running) return;
    if (!s || s.phase === 'Failed' || s.phase === 'Succeeded' || FATAL.includes(s.reason ?? '')) {
      throw new Error(
        `probe pod ${ns}/${name} (image ${image}) did not start: ${s ? `${s.phase}${s.reason ? `, ${s.reason}` : ''}` : 'it was deleted'}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(
        `probe pod ${ns}/${name} (image ${image}) was not running after ${START_TIMEOUT_MS / 1000} s (${s.phase}${s.reason ? `, ${s.reason}` : ''})`,
      );
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function sh(cluster: Cluster, d: Discovery, p: Probe, script: string, args: string[]) {
  return cluster.exec(d.namespace, p.pod, p.container, [
    'sh',
    '-c',
    withHeartbeat(script, execSilenceMs()),
    'sh',
    ...args,
  ]);
}

/** pg_controldata of the volume's cluster. */
export async function readControlData(cluster: Cluster, d: Discovery, p: Probe): Promise<ControlData> {
  const r = await sh(cluster, d, p, CONTROLDATA_SCRIPT, [d.pgdata]);
  if (r.exitCode !== 0)
    throw new Error(
      `pg_controldata in probe pod ${p.pod} failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`,
    );
  return parseControlData(r.stdout);
}

/** Starts the old major in the probe with no TCP listener; resolves to an error text when it cannot. */
export async function startServer(
  cluster: Cluster,
  d: Discovery,
  p: Probe,
  restoredCopy = false,
): Promise<string | undefined> {
  const r = await sh(cluster, d, p, restoredCopy ? RESTORED_START_SCRIPT : START_SCRIPT, [d.pgdata]);
  return r.exitCode === 0 ? undefined : r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`;
}

/** Stops it cleanly, so that pg_upgrade finds a cluster that was shut down. */
export async function stopServer(cluster: Cluster, d: Discovery, p: Probe): Promise<void> {
  const r = await sh(cluster, d, p, STOP_SCRIPT, [d.pgdata]);
  if (r.exitCode !== 0) throw new Error(`stopping PostgreSQL in probe pod ${p.pod} failed: ${r.stderr.trim()}`);
}

/** pg_upgrade --check of the target major against the stopped cluster. */
export async function pgUpgradeCheck(
  cluster: Cluster,
  d: Discovery,
  p: Probe,
  user: string,
  from: number,
  to: number,
  initdb: string[],
): Promise<{ ok: boolean; output: string }> {
  const r = await sh(cluster, d, p, PG_UPGRADE_CHECK_SCRIPT, [d.pgdata, user, String(from), String(to), ...initdb]);
  return { ok: r.exitCode === 0, output: `${r.stdout}${r.stderr}`.trim() };
}
