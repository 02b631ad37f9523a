import type { KubeRest } from '../kube/rest.ts';

/** Identity of the agent's one node. */
export interface NodeConfig {
  name: string;
  kubeletPort: number;
  cpu: string;
  memory: string;
}

const LEASE_SECONDS = 40;

/**
 * Registers the node as a kubelet does (Ready, InternalIP 127.0.0.1, the kubelet port the apiserver proxies logs
 * and exec to) and keeps it alive: a Lease renewed every 10 s and a status heartbeat every 30 s. The node has
 * no controller-managed-attach-detach annotation, so the agent itself manages VolumeAttachments, as a kubelet
 * in that mode does.
 */
export async function registerNode(rest: KubeRest, cfg: NodeConfig): Promise<() => void> {
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: cfg.name,
      labels: { 'kubernetes.io/hostname': cfg.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
    },
  };
  if (!(await rest.getOrNull(`/api/v1/nodes/${cfg.name}`))) await rest.create('/api/v1/nodes', node);
  await rest.patch(`/api/v1/nodes/${cfg.name}/status`, { status: nodeStatus(cfg) }, 'merge');
  await renewLease(rest, cfg.name);
  const lease = setInterval(() => void renewLease(rest, cfg.name).catch(() => {}), 10_000);
  const status = setInterval(
    () => void rest.patch(`/api/v1/nodes/${cfg.name}/status`, { status: nodeStatus(cfg) }, 'merge').catch(() => {}),
    30_000,
  );
  lease.unref();
  status.unref();
  return () => {
    clearInterval(lease);
    clearInterval(status);
  };
}

function nodeStatus(cfg: NodeConfig): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const resources = { cpu: cfg.cpu, memory: cfg.memory, pods: '110', 'ephemeral-storage': '50Gi' };
  return {
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'pgupgrade test node agent is ready',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
      {
        type: 'MemoryPressure',
        status: 'False',
        reason: 'KubeletHasSufficientMemory',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
      {
        type: 'DiskPressure',
        status: 'False',
        reason: 'KubeletHasNoDiskPressure',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
      {
        type: 'PIDPressure',
        status: 'False',
        reason: 'KubeletHasSufficientPID',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ],
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: cfg.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: cfg.kubeletPort } },
    capacity: resources,
    allocatable: resources,
    nodeInfo: {
      machineID: 'pgupgrade',
      systemUUID: 'pgupgrade',
      bootID: 'pgupgrade',
      kernelVersion: '',
      osImage: 'pgupgrade node agent',
      containerRuntimeVersion: 'bwrap://pgupgrade',
      kubeletVersion: 'v0.0.0-agent',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

async function renewLease(rest: KubeRest, name: string): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`;
  const renewTime = new Date()
    .toISOString()
    .replace('Z', '000Z')
    .replace(/(\.\d{6})\d*Z$/, '$1Z');
  const spec = { holderIdentity: name, leaseDurationSeconds: LEASE_SECONDS, renewTime };
  const existing = await rest.getOrNull(path);
  if (existing) await rest.patch(path, { spec }, 'merge');
  else {
    await rest.create('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec,
    });
  }
}

/** Binds a pending pod to the node, as kube-scheduler would on a one-node cluster. */
export async function bindPod(rest: KubeRest, ns: string, pod: string, nodeName: string): Promise<void> {
  await rest.create(`/api/v1/namespaces/${ns}/pods/${pod}/binding`, {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: pod, namespace: ns },
    target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
  });
}
