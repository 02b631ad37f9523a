import type { Cluster, KObject, Pod } from '../../../k8s/cluster.ts';
import { usageError } from '../../../exit-codes.ts';
import { workloadPods } from '../../../k8s/selector.ts';
import { identityOfPods, podsSelected, selectorMatches, type ServerIdentity } from '../../../postgres/dump-identity.ts';
import { parseWorkloadRef } from '../../../postgres/workload.ts';
import type { SourceDiscovery } from '../../../discovery/discover.ts';
import { withHeartbeat } from '../../../postgres/heartbeat.ts';
import { execSilenceMs } from '../../../k8s/silence.ts';

// pg_controldata reads the control file without a password; PGDATA (official) or POSTGRESQL_DATA_DIR (Bitnami).
const SYSTEM_ID_SH =
  'D=${PGDATA:-${POSTGRESQL_DATA_DIR:-}}; [ -n "$D" ] || exit 0; pg_controldata "$D" 2>/dev/null | sed -n "s/^Database system identifier: *//p"';

/** The system_identifier of the server in a pod, read from its control file; undefined when it cannot be read. */
async function systemIdentifierOf(cluster: Cluster, ns: string, pod: Pod | undefined): Promise<string | undefined> {
  const container = pod?.spec.containers[0]?.name;
  if (!pod?.ready || !container) return undefined;
  const r = await cluster
    .exec(ns, pod.metadata.name, container, ['sh', '-c', withHeartbeat(SYSTEM_ID_SH, execSilenceMs())])
    .catch(() => undefined);
  const id = r?.exitCode === 0 ? r.stdout.trim() : '';
  return /^\d+$/.test(id) ? id : undefined;
}

/** What identifies the source: its workload, its PVC and bound volume, its pods, its system_identifier. */
export async function sourceIdentity(cluster: Cluster, d: SourceDiscovery, pods: Pod[]): Promise<ServerIdentity> {
  const mine = workloadPods(d.workload, pods);
  return identityOfPods(`${d.workload.kind}/${d.workload.metadata.name}`, d.namespace, mine, {
    workloadUid: d.workload.metadata.uid,
    // No volume: the data is in the container's writable layer; the workload, pods and system_identifier still tell.
    volumes: d.pvc
      ? [`${d.namespace}/${d.pvc.metadata.name}`, ...(d.pvc.volumeName ? [`pv:${d.pvc.volumeName}`] : [])]
      : [],
    systemIdentifier: await systemIdentifierOf(
      cluster,
      d.namespace,
      mine.find((p) => p.ready),
    ),
  });
}

/**
 * What `--target` names: `sts/<name>`, `deploy/<name>`, `svc/<name>`, or a bare name (a workload, else a
 * Service). Exit 2 when it names nothing.
 */
export async function targetIdentity(cluster: Cluster, ns: string, ref: string, pods: Pod[]): Promise<ServerIdentity> {
  const slash = ref.indexOf('/');
  const kind = slash < 0 ? '' : ref.slice(0, slash).toLowerCase();
  if (['svc', 'service', 'services'].includes(kind) || slash < 0) {
    const name = slash < 0 ? ref : ref.slice(slash + 1);
    const svc = await cluster.readObject({ apiVersion: 'v1', kind: 'Service', namespace: ns, name });
    if (svc || slash >= 0) return serviceIdentity(cluster, ns, `svc/${name}`, svc, pods);
  }
  let parsed: ReturnType<typeof parseWorkloadRef>;
  try {
    parsed = parseWorkloadRef(ref);
  } catch {
    throw usageError(`--target ${ref}: use sts/<name>, deploy/<name>, svc/<name> or a bare name; nothing was changed`);
  }
  const kinds = parsed.kind ? [parsed.kind] : (['StatefulSet', 'Deployment'] as const);
  for (const k of kinds) {
    const w = await cluster.getWorkload(ns, k, parsed.name);
    if (!w) continue;
    const mine = workloadPods(w, pods);
    return identityOfPods(`${k === 'StatefulSet' ? 'sts' : 'deploy'}/${w.metadata.name}`, ns, mine, {
      workloadUid: w.metadata.uid,
      systemIdentifier: await systemIdentifierOf(
        cluster,
        ns,
        mine.find((p) => p.ready),
      ),
    });
  }
  throw usageError(
    `--target ${ref}: no StatefulSet, Deployment or Service of that name in namespace ${ns}; nothing was changed`,
  );
}

async function serviceIdentity(
  cluster: Cluster,
  ns: string,
  label: string,
  svc: KObject | undefined,
  pods: Pod[],
): Promise<ServerIdentity> {
  if (!svc) throw usageError(`--target ${label}: no such Service in namespace ${ns}; nothing was changed`);
  const mine = podsSelected(svc.spec?.selector, pods);
  return identityOfPods(label, ns, mine, {
    systemIdentifier: await systemIdentifierOf(
      cluster,
      ns,
      mine.find((p) => p.ready),
    ),
  });
}

/** The Services of the namespace whose selector picks the source's pods: each is pointed at the new pods at cutover. */
export async function sourceServices(cluster: Cluster, d: SourceDiscovery): Promise<KObject[]> {
  const labels = d.workload.template.metadata?.labels ?? {};
  const all = await cluster.listObjects('v1', 'Service', d.namespace);
  return all.filter((s) => selectorMatches(s.spec?.selector, labels));
}
