import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fetchDebs } from '../apt.ts';
import { KubeRest } from '../kube/rest.ts';
import { cacheDir, stateDir } from '../paths.ts';
import { freePort, startDaemon, waitFor, type Daemon } from '../process.ts';
import { exclusive } from '../lock.ts';
import { ensureK8sBinaries, type K8sBinaries } from './binaries.ts';
import { kubeconfigFor, makePki, type Pki } from './certs.ts';
import { ensureSnapshotCrds } from './snapshot-crds.ts';
import { ensureGitopsCrds, GITOPS_CRDS } from './gitops-crds.ts';
import { STORAGE } from './storage-names.ts';

/** A running control plane: etcd, kube-apiserver and kube-controller-manager, all on 127.0.0.1. */
export interface ControlPlane {
  server: string;
  kubeconfig: string;
  dir: string;
  pki: Pki;
  bins: K8sBinaries;
  /** The directory of the VolumeSnapshot CRDs applied at bootstrap. */
  crds: string;
  /** The directory of the Argo CD and Flux CRDs applied at bootstrap (for the self-healing test controller). */
  gitopsCrds: string;
  rest: KubeRest;
  auditLog: string;
  daemons: Daemon[];
  kubectl(
    args: string[],
    opts?: { input?: string; allowFail?: boolean },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** etcd 3.5 from Debian trixie, fetched once with a private apt source list (bookworm has only 3.4). */
export async function ensureEtcd(): Promise<string> {
  const dest = cacheDir('etcd', 'trixie');
  const bin = path.join(dest, 'usr', 'bin', 'etcd');
  if (fs.existsSync(bin)) return bin;
  return exclusive(`${dest}.lock`, async () => {
    if (!fs.existsSync(bin))
      await fetchDebs({ name: 'trixie-etcd', suites: [{ suite: 'trixie' }], packages: ['etcd-server'], dest });
    return bin;
  });
}

/**
 * Everything the control plane runs or applies, built or fetched once per machine (minutes on a cold cache, with
 * progress on stderr): kube-apiserver, kube-controller-manager and kubectl, etcd, and the VolumeSnapshot CRDs.
 */
export async function ensureControlPlaneTools(): Promise<{
  bins: K8sBinaries;
  etcdBin: string;
  crds: string;
  gitopsCrds: string;
}> {
  const [bins, etcdBin, crds, gitopsCrds] = await Promise.all([
    ensureK8sBinaries(),
    ensureEtcd(),
    ensureSnapshotCrds(),
    ensureGitopsCrds(),
  ]);
  return { bins, etcdBin, crds, gitopsCrds };
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`;

/**
 * Starts a fresh control plane in its own state directory. The apiserver audits every request (the tests grep
 * the audit log for secrets), runs PodSecurity admission, and forwards WebSocket exec to the node agent
 * unchanged (TranslateStreamCloseWebsocketRequests=false). On failure the error carries the component's log.
 */
export async function startControlPlane(): Promise<ControlPlane> {
  const { bins, etcdBin, crds, gitopsCrds } = await ensureControlPlaneTools();
  fs.mkdirSync(stateDir(), { recursive: true });
  const dir = fs.mkdtempSync(path.join(stateDir(), 'cp-'));
  const pki = await makePki(path.join(dir, 'pki'));
  const [etcdPort, etcdPeer, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const daemons: Daemon[] = [];
  const stop = async () => {
    for (const d of [...daemons].reverse()) await d.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcd = startDaemon(
      'etcd',
      etcdBin,
      [
        '--data-dir',
        path.join(dir, 'etcd'),
        '--listen-client-urls',
        `http://127.0.0.1:${etcdPort}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${etcdPort}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster',
        `default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync',
        '--log-level',
        'warn',
      ],
      path.join(dir, 'etcd.log'),
    );
    daemons.push(etcd);
    const server = `https://127.0.0.1:${apiPort}`;
    fs.writeFileSync(path.join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
    const auditLog = path.join(dir, 'audit.log');
    const apiserver = startDaemon(
      'kube-apiserver',
      bins.apiserver,
      apiserverArgs(pki, dir, etcdPort, apiPort, auditLog),
      path.join(dir, 'kube-apiserver.log'),
    );
    daemons.push(apiserver);
    const rest = KubeRest.fromFiles(server, pki.caCert, pki.cert('admin').cert, pki.cert('admin').key);
    await waitFor(
      'kube-apiserver /readyz',
      async () => (await rest.raw('GET', '/readyz')).statusCode === 200,
      90_000,
      apiserver,
    );
    const kubeconfig = path.join(dir, 'admin.kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigFor(server, pki, 'admin'));
    fs.writeFileSync(path.join(dir, 'cm.kubeconfig'), kubeconfigFor(server, pki, 'controller-manager'));
    const cm = startDaemon(
      'kube-controller-manager',
      bins.controllerManager,
      controllerManagerArgs(pki, dir),
      path.join(dir, 'kube-controller-manager.log'),
    );
    daemons.push(cm);
    const cp: ControlPlane = {
      server,
      kubeconfig,
      dir,
      pki,
      bins,
      crds,
      gitopsCrds,
      rest,
      auditLog,
      daemons,
      stop,
      kubectl: (args, opts) => kubectl(bins.kubectl, kubeconfig, args, opts),
    };
    await waitFor(
      'the default ServiceAccount (kube-controller-manager running)',
      async () => !!(await rest.getOrNull('/api/v1/namespaces/default/serviceaccounts/default')),
      60_000,
      cm,
    );
    await bootstrap(cp);
    return cp;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

function apiserverArgs(pki: Pki, dir: string, etcdPort: number, apiPort: number, auditLog: string): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--tls-cert-file=${pki.cert('apiserver').cert}`,
    `--tls-private-key-file=${pki.cert('apiserver').key}`,
    `--client-ca-file=${pki.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    `--kubelet-client-certificate=${pki.cert('apiserver-kubelet-client').cert}`,
    `--kubelet-client-key=${pki.cert('apiserver-kubelet-client').key}`,
    `--kubelet-certificate-authority=${pki.caCert}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--feature-gates=TranslateStreamCloseWebsocketRequests=false',
    `--audit-policy-file=${path.join(dir, 'audit-policy.yaml')}`,
    `--audit-log-path=${auditLog}`,
    '--profiling=false',
    `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
  ];
}

function controllerManagerArgs(pki: Pki, dir: string): string[] {
  const kc = path.join(dir, 'cm.kubeconfig');
  return [
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.saKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller',
    '--concurrent-statefulset-syncs=5',
    '--profiling=false',
  ];
}

async function kubectl(
  bin: string,
  kubeconfig: string,
  args: string[],
  opts: { input?: string; allowFail?: boolean } = {},
) {
  const child = execFile(bin, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 1 << 26 });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0 && !opts.allowFail) throw new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr}`);
  return { code, stdout, stderr };
}

/** The VolumeSnapshot and GitOps CRDs, the default local-path StorageClass and its VolumeSnapshotClass. */
async function bootstrap(cp: ControlPlane): Promise<void> {
  await cp.kubectl(['apply', '-f', cp.crds]);
  // Server-side: Argo CD's Application CRD (400 kB) exceeds the 256 kB last-applied annotation of a client-side apply.
  await cp.kubectl(['apply', '--server-side', '-f', cp.gitopsCrds]);
  // Polled here, not by `kubectl wait --for=condition=Established`: that fails at once ("accessor error: <nil>")
  // when it reads a CRD before the apiserver has given it any condition, as happens on a loaded machine.
  const established = async (name: string) => {
    const crd = await cp.rest.getOrNull<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    return (crd?.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
  };
  const names = [
    ...['volumesnapshots', 'volumesnapshotcontents', 'volumesnapshotclasses'].map(
      (n) => `${n}.snapshot.storage.k8s.io`,
    ),
    ...GITOPS_CRDS,
  ];
  await waitFor(
    'the VolumeSnapshot and GitOps CRDs to be Established',
    async () => (await Promise.all(names.map(established))).every(Boolean),
    60_000,
  );
  // Established is not yet servable: the apiserver answers 429 while the CRD's storage initialises.
  await waitFor(
    'the VolumeSnapshot API to serve',
    async () => (await cp.rest.raw('GET', '/apis/snapshot.storage.k8s.io/v1/volumesnapshots')).statusCode === 200,
    30_000,
  );
  await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: {
            name: STORAGE.storageClass,
            annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
          },
          provisioner: STORAGE.driver,
          reclaimPolicy: 'Delete',
          volumeBindingMode: 'Immediate',
          allowVolumeExpansion: true,
        },
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshotClass',
          metadata: {
            name: STORAGE.snapshotClass,
            annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' },
          },
          driver: STORAGE.driver,
          deletionPolicy: 'Delete',
        },
        {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'CSIDriver',
          metadata: { name: STORAGE.driver },
          spec: { attachRequired: true, podInfoOnMount: false, volumeLifecycleModes: ['Persistent'] },
        },
      ],
    }),
  });
}
