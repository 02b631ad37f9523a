import * as fs from 'node:fs';
import type * as https from 'node:https';
import * as path from 'node:path';
import { Informer } from '../kube/informer.ts';
import type { KubeObject, KubeRest } from '../kube/rest.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';
import { STORAGE, XFS_STORAGE } from '../k8s/storage-names.ts';
import { ensureHostPackages } from '../apt.ts';
import { freePort } from '../process.ts';
import { ensureSandboxHost } from '../sandbox/bwrap.ts';
import { hostEntries, type PodView, type ServiceView } from './dns.ts';
import { createKubeletServer, NotFoundError } from './kubelet-server.ts';
import { hostsFileText, PodNetworks, rewriteInPlace } from './network.ts';
import { bindPod, registerNode } from './node.ts';
import { PodWorker, type Pod } from './pod-worker.ts';
import { mountReflinkFs, NodeStorage, StorageController } from './storage.ts';
import { streamLog } from './container.ts';

/** The running node agent. */
export interface NodeAgent {
  nodeName: string;
  stateDir: string;
  /** Whether the reflink StorageClass `local-xfs` is served, or why not. */
  reflink: { storageClass: string } | { reason: string };
  stop(): Promise<void>;
}

type Obj = KubeObject & { spec?: Record<string, any>; status?: Record<string, any> };

function podView(p: Obj): PodView {
  return {
    name: p.metadata.name,
    namespace: p.metadata.namespace as string,
    labels: (p.metadata.labels as Record<string, string>) ?? {},
    ip: p.status?.podIP,
    ready: (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'),
    terminating: !!p.metadata.deletionTimestamp,
    hostname: p.spec?.hostname,
    subdomain: p.spec?.subdomain,
  };
}

/**
 * The machine's packages the agent runs on, installed when missing: the sandbox's, and xfsprogs for the XFS
 * StorageClass (optional: without it that class is not offered).
 */
export async function ensureNodeHost(): Promise<void> {
  await ensureSandboxHost();
  await ensureHostPackages({ 'mkfs.xfs': 'xfsprogs' }).catch(() => undefined);
}

/**
 * Starts the node agent against a control plane: one Ready node whose kubelet port serves logs and exec, which
 * binds pending pods to itself and runs them in the sandbox, and which plays CSI driver and snapshot
 * controller for the `local-path` StorageClass.
 */
export async function startNodeAgent(
  cp: ControlPlane,
  opts: { nodeName?: string; snapshotReadyDelayMs?: number } = {},
): Promise<NodeAgent> {
  await ensureNodeHost();
  const nodeName = opts.nodeName ?? 'pgupgrade-node';
  const stateDir = path.join(cp.dir, 'node');
  const rest = cp.rest;
  const tag = Math.floor(Math.random() * 0xfff).toString(16);
  const networks = new PodNetworks({
    bridge: `pgubr${tag}`,
    prefix: `10.${200 + (parseInt(tag, 16) % 50)}.${parseInt(tag, 16) % 256}`,
  });
  const delay = opts.snapshotReadyDelayMs ?? 0;
  const controllers = [
    new StorageController(rest, {
      driver: STORAGE.driver,
      storageClass: STORAGE.storageClass,
      nodeName,
      volumesDir: path.join(stateDir, 'volumes'),
      snapshotsDir: path.join(stateDir, 'snapshots'),
      snapshotReadyDelayMs: delay,
    }),
  ];
  // A sparse 40 GiB XFS file: the benchmark's pgbench scale 150 and its copy-on-write snapshots fit with room.
  const xfs = await mountReflinkFs(path.join(stateDir, 'xfs'), 40);
  if ('mountPoint' in xfs) {
    controllers.push(
      new StorageController(rest, {
        driver: XFS_STORAGE.driver,
        storageClass: XFS_STORAGE.storageClass,
        nodeName,
        volumesDir: path.join(xfs.mountPoint, 'volumes'),
        snapshotsDir: path.join(xfs.mountPoint, 'snapshots'),
        snapshotReadyDelayMs: delay,
      }),
    );
    await registerXfsClass(rest);
  }
  const storage = new NodeStorage(rest, controllers);
  const workers = new Map<string, PodWorker>();
  const informers: Informer[] = [];
  const services = () =>
    [...svcInformer.items.values()].map(
      (s: Obj): ServiceView => ({
        name: s.metadata.name,
        namespace: s.metadata.namespace as string,
        selector: s.spec?.selector,
      }),
    );
  const pods = () => [...podInformer.items.values()].map(podView);
  const writeHosts = (pod: Pod, ip: string, file: string) => {
    const self = { ...podView(pod), ip };
    rewriteInPlace(file, hostsFileText(hostEntries(self.namespace, self, services(), pods())));
  };
  const refreshAll = () => workers.forEach((w) => w.refreshHosts());
  const onPod = (type: string, p: Obj) => {
    const pod = p as Pod;
    const key = pod.metadata.uid as string;
    if (type !== 'DELETED' && !pod.spec.nodeName && !pod.metadata.deletionTimestamp) {
      void bindPod(rest, pod.metadata.namespace as string, pod.metadata.name, nodeName).catch(() => {});
      return;
    }
    if (pod.spec.nodeName !== nodeName) return;
    let w = workers.get(key);
    if (type === 'DELETED') {
      if (w) void w.kill();
      workers.delete(key);
    } else if (!w && !pod.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(pod.status?.phase)) {
      w = new PodWorker(pod, { rest, networks, storage, podsDir: path.join(stateDir, 'pods'), writeHosts });
      workers.set(key, w);
      void w.start();
    } else if (w && pod.metadata.deletionTimestamp) {
      void w
        .terminate(Number(pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30))
        .finally(() => workers.delete(key));
    } else if (!w && pod.metadata.deletionTimestamp) {
      // A deleting pod that this agent does not run: confirm it (gone already, or its name taken by a new pod, is fine).
      void rest
        .delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
          gracePeriodSeconds: 0,
          preconditions: { uid: key },
        })
        .catch(() => undefined);
    }
    refreshAll();
  };
  const find = (ns: string, name: string) => [...workers.values()].find((w) => w.ns === ns && w.name === name);
  const pki = cp.pki.cert('kubelet');
  const server: https.Server = createKubeletServer(
    { cert: fs.readFileSync(pki.cert), key: fs.readFileSync(pki.key), ca: fs.readFileSync(cp.pki.caCert) },
    {
      logs: (ns, pod, container, o) => {
        const w = find(ns, pod);
        const c = w?.container(container);
        if (!w || !c) throw new NotFoundError(`pod ${ns}/${pod} container ${container} is not on this node`);
        return streamLog(c.logFile, o, () => !!c.run && !c.run.done);
      },
      exec: (ns, pod, container, command, o) => {
        const w = find(ns, pod);
        if (!w) throw new NotFoundError(`pod ${ns}/${pod} is not on this node`);
        return w.exec(container, command, o);
      },
    },
  );
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stopHeartbeat = await registerNode(rest, { name: nodeName, kubeletPort: port, cpu: '2', memory: '24Gi' });
  const podInformer = new Informer<Obj>(rest, '/api/v1/pods', onPod);
  const svcInformer = new Informer<Obj>(rest, '/api/v1/services', () => refreshAll());
  const pvcInformer = new Informer<Obj>(
    rest,
    '/api/v1/persistentvolumeclaims',
    (t, o) => t !== 'DELETED' && void storage.onClaim(o).catch(() => {}),
  );
  const pvInformer = new Informer<Obj>(
    rest,
    '/api/v1/persistentvolumes',
    (t, o) => t !== 'DELETED' && void storage.onVolume(o).catch(() => {}),
  );
  const vsInformer = new Informer<Obj>(
    rest,
    '/apis/snapshot.storage.k8s.io/v1/volumesnapshots',
    (t, o) => void (t === 'DELETED' ? storage.onSnapshotDeleted(o) : storage.onSnapshot(o)).catch(() => {}),
  );
  informers.push(svcInformer, pvcInformer, pvInformer, vsInformer, podInformer);
  for (const i of informers) await i.start();
  // Claims waiting on a snapshot that was not ready yet are retried, as the external-provisioner requeues.
  const resync = setInterval(() => pvcInformer.items.forEach((o) => void storage.onClaim(o).catch(() => {})), 2000);
  resync.unref();
  return {
    nodeName,
    stateDir,
    reflink: 'mountPoint' in xfs ? { storageClass: XFS_STORAGE.storageClass } : { reason: xfs.reason },
    stop: async () => {
      clearInterval(resync);
      stopHeartbeat();
      informers.forEach((i) => i.stop());
      await Promise.all([...workers.values()].map((w) => w.kill()));
      await networks.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      if ('unmount' in xfs) await xfs.unmount();
    },
  };
}

/** The `local-xfs` StorageClass, its VolumeSnapshotClass and CSIDriver; already there is fine. */
async function registerXfsClass(rest: KubeRest): Promise<void> {
  const create = (p: string, body: object) =>
    rest.create(p, body).catch((err: { status?: number }) => {
      if (err.status !== 409) throw err;
    });
  await create('/apis/storage.k8s.io/v1/storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: XFS_STORAGE.storageClass },
    provisioner: XFS_STORAGE.driver,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: true,
  });
  await create('/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses', {
    apiVersion: 'snapshot.storage.k8s.io/v1',
    kind: 'VolumeSnapshotClass',
    metadata: {
      name: XFS_STORAGE.snapshotClass,
      annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
    },
    driver: XFS_STORAGE.driver,
    deletionPolicy: 'Delete',
  });
  await create('/apis/storage.k8s.io/v1/csidrivers', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSIDriver',
    metadata: { name: XFS_STORAGE.driver },
    spec: { attachRequired: true, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'] },
  });
}
