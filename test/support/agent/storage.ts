import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { KubeObject, KubeRest } from '../kube/rest.ts';

const run = promisify(execFile);

/** The agent's CSI driver name, and where volumes and snapshots live on the host. */
export interface StorageConfig {
  driver: string;
  storageClass: string;
  nodeName: string;
  volumesDir: string;
  snapshotsDir: string;
  /** How long a snapshot stays cut-but-not-ready, as cloud snapshots do while they upload. */
  snapshotReadyDelayMs: number;
}

type Obj = KubeObject & { spec?: Record<string, any>; status?: Record<string, any> };

/** A claim's annotation that delays the readiness of its snapshots, in seconds (test environment only). */
export const READY_DELAY_ANNOTATION = 'test.pgupgrade.kubectl.io/snapshot-ready-delay-seconds';

const SNAP = '/apis/snapshot.storage.k8s.io/v1';

/** Copies a directory tree keeping owners and modes; reflinks where the filesystem can. */
export async function copyTree(from: string, to: string): Promise<void> {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  await run('cp', ['-a', '--reflink=auto', from, to]);
}

/** Bytes used by a directory tree (du), which is what a snapshot's restoreSize reports. */
export async function treeBytes(dir: string): Promise<number> {
  const { stdout } = await run('du', ['-sb', dir]);
  return Number(stdout.split('\t')[0]);
}

/**
 * Plays the CSI driver, external-provisioner, external-snapshotter and snapshot-controller for one node, on
 * directories: PVCs of our StorageClass get a directory and a CSI PersistentVolume (restored from a
 * VolumeSnapshot when that is their dataSource); VolumeSnapshots get a copy and a bound VolumeSnapshotContent;
 * released volumes and deleted snapshots are removed when their policy says Delete.
 */
export class StorageController {
  private readonly rest: KubeRest;
  readonly cfg: StorageConfig;
  private readonly busy = new Set<string>();

  constructor(rest: KubeRest, cfg: StorageConfig) {
    this.rest = rest;
    this.cfg = cfg;
    fs.mkdirSync(cfg.volumesDir, { recursive: true });
    fs.mkdirSync(cfg.snapshotsDir, { recursive: true });
  }

  /** The host directory of a bound PVC's volume. */
  async pvcPath(ns: string, claim: string): Promise<{ dir: string; pv: string }> {
    const pvc = await this.rest.get<Obj>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`);
    const pvName = pvc.spec?.volumeName as string | undefined;
    if (!pvName || pvc.status?.phase !== 'Bound') throw new Error(`persistentvolumeclaim "${claim}" is not bound yet`);
    const pv = await this.rest.get<Obj>(`/api/v1/persistentvolumes/${pvName}`);
    if (pv.spec?.csi?.driver !== this.cfg.driver)
      throw new Error(`volume ${pvName} is not provisioned by ${this.cfg.driver}`);
    return { dir: path.join(this.cfg.volumesDir, pv.spec.csi.volumeHandle as string), pv: pvName };
  }

  /** Reacts to a PVC event: provisions Pending claims of our class. */
  async onClaim(pvc: Obj): Promise<void> {
    if (pvc.spec?.storageClassName !== this.cfg.storageClass || pvc.spec?.volumeName || pvc.metadata.deletionTimestamp)
      return;
    const key = `pvc/${pvc.metadata.uid}`;
    if (this.busy.has(key)) return;
    this.busy.add(key);
    try {
      await this.provision(pvc);
    } finally {
      this.busy.delete(key);
    }
  }

  private async provision(pvc: Obj): Promise<void> {
    const name = `pvc-${pvc.metadata.uid}`;
    if (await this.rest.getOrNull(`/api/v1/persistentvolumes/${name}`)) return;
    const dir = path.join(this.cfg.volumesDir, name);
    const source = pvc.spec?.dataSource as { kind?: string; name?: string; apiGroup?: string } | undefined;
    if (source?.kind === 'VolumeSnapshot') {
      const from = await this.readySnapshotDir(pvc.metadata.namespace as string, source.name as string);
      if (!from) return; // retried on the next event or resync, once the snapshot is ready
      fs.rmSync(dir, { recursive: true, force: true });
      await copyTree(from, dir);
    } else {
      fs.mkdirSync(dir, { recursive: true });
      fs.chmodSync(dir, 0o777);
    }
    await this.rest.create('/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': this.cfg.driver } },
      spec: {
        capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
        accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: this.cfg.storageClass,
        volumeMode: 'Filesystem',
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: pvc.metadata.namespace,
          name: pvc.metadata.name,
          uid: pvc.metadata.uid,
        },
        csi: { driver: this.cfg.driver, volumeHandle: name, fsType: 'ext4' },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [this.cfg.nodeName] }] },
            ],
          },
        },
      },
    });
  }

  private async readySnapshotDir(ns: string, name: string): Promise<string | undefined> {
    const vs = await this.rest.getOrNull<Obj>(`${SNAP}/namespaces/${ns}/volumesnapshots/${name}`);
    const content = vs?.status?.boundVolumeSnapshotContentName as string | undefined;
    if (!content || vs?.status?.readyToUse !== true) return undefined;
    return path.join(this.cfg.snapshotsDir, content);
  }

  /** Reacts to a PV event: deletes the directory and the PV once its claim is gone (reclaim policy Delete). */
  async onVolume(pv: Obj): Promise<void> {
    if (pv.spec?.csi?.driver !== this.cfg.driver || pv.status?.phase !== 'Released') return;
    if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    fs.rmSync(path.join(this.cfg.volumesDir, pv.spec.csi.volumeHandle as string), { recursive: true, force: true });
    await this.rest.delete(`/api/v1/persistentvolumes/${pv.metadata.name}`);
  }

  /** Reacts to a VolumeSnapshot event: cuts it (a copy), binds a content, then marks both ready. */
  async onSnapshot(vs: Obj): Promise<void> {
    if (vs.status?.boundVolumeSnapshotContentName || vs.metadata.deletionTimestamp) return;
    const claim = vs.spec?.source?.persistentVolumeClaimName as string | undefined;
    const key = `vs/${vs.metadata.uid}`;
    if (!claim || this.busy.has(key)) return;
    this.busy.add(key);
    try {
      await this.cut(vs, claim);
    } catch (err) {
      await this.snapshotError(vs, (err as Error).message);
    } finally {
      this.busy.delete(key);
    }
  }

  private async cut(vs: Obj, claim: string): Promise<void> {
    const ns = vs.metadata.namespace as string;
    const cls = await this.snapshotClass(vs.spec?.volumeSnapshotClassName as string | undefined);
    const { dir, pv } = await this.pvcPath(ns, claim);
    const content = `snapcontent-${vs.metadata.uid}`;
    const created = new Date();
    await copyTree(dir, path.join(this.cfg.snapshotsDir, content));
    const bytes = await treeBytes(path.join(this.cfg.snapshotsDir, content));
    const pvObj = await this.rest.get<Obj>(`/api/v1/persistentvolumes/${pv}`);
    await this.rest.create(`${SNAP}/volumesnapshotcontents`, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotContent',
      metadata: { name: content },
      spec: {
        deletionPolicy: cls.deletionPolicy ?? 'Delete',
        driver: this.cfg.driver,
        source: { volumeHandle: pvObj.spec?.csi?.volumeHandle },
        volumeSnapshotClassName: cls.metadata.name,
        volumeSnapshotRef: {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          name: vs.metadata.name,
          namespace: ns,
          uid: vs.metadata.uid,
        },
      },
    });
    const status = (ready: boolean) => ({
      snapshotHandle: content,
      creationTime: created.getTime() * 1e6,
      readyToUse: ready,
      restoreSize: bytes,
    });
    await this.rest.patch(`${SNAP}/volumesnapshotcontents/${content}/status`, { status: status(false) });
    const vsStatus = (ready: boolean) => ({
      boundVolumeSnapshotContentName: content,
      creationTime: created.toISOString(),
      readyToUse: ready,
      restoreSize: String(bytes),
    });
    await this.rest.patch(`${SNAP}/namespaces/${ns}/volumesnapshots/${vs.metadata.name}/status`, {
      status: vsStatus(false),
    });
    const delay = this.readyDelayMs(
      await this.rest.get<Obj>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`),
    );
    await new Promise((r) => setTimeout(r, delay));
    await this.rest.patch(`${SNAP}/volumesnapshotcontents/${content}/status`, { status: status(true) });
    await this.rest.patch(`${SNAP}/namespaces/${ns}/volumesnapshots/${vs.metadata.name}/status`, {
      status: vsStatus(true),
    });
  }

  /**
   * How long a snapshot of this claim stays cut but not ready, as a cloud snapshot does while it uploads: the
   * agent's setting, or the claim's annotation READY_DELAY_ANNOTATION (seconds), so that one test can slow its own.
   */
  private readyDelayMs(pvc: Obj): number {
    const s = Number((pvc.metadata.annotations as Record<string, string> | undefined)?.[READY_DELAY_ANNOTATION]);
    return Number.isFinite(s) && s > 0 ? s * 1000 : this.cfg.snapshotReadyDelayMs;
  }

  private async snapshotClass(name?: string): Promise<Obj & { deletionPolicy?: string; driver?: string }> {
    const list = await this.rest.get<{ items: Array<Obj & { deletionPolicy?: string; driver?: string }> }>(
      `${SNAP}/volumesnapshotclasses`,
    );
    const cls = name
      ? list.items.find((c) => c.metadata.name === name)
      : list.items.find(
          (c) =>
            c.driver === this.cfg.driver &&
            (c.metadata as any).annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true',
        );
    if (!cls)
      throw new Error(
        name ? `volumesnapshotclass "${name}" not found` : `no default VolumeSnapshotClass for ${this.cfg.driver}`,
      );
    if (cls.driver !== this.cfg.driver)
      throw new Error(`volumesnapshotclass "${name}" is for driver ${cls.driver}, not ${this.cfg.driver}`);
    return cls;
  }

  private async snapshotError(vs: Obj, message: string): Promise<void> {
    const path_ = `${SNAP}/namespaces/${vs.metadata.namespace}/volumesnapshots/${vs.metadata.name}/status`;
    await this.rest
      .patch(path_, { status: { readyToUse: false, error: { message, time: new Date().toISOString() } } })
      .catch(() => {});
  }

  /** Reacts to a deleted VolumeSnapshot: removes its content (and the copy) when the policy is Delete. */
  async onSnapshotDeleted(vs: Obj): Promise<void> {
    const content = vs.status?.boundVolumeSnapshotContentName as string | undefined;
    if (!content) return;
    const vsc = await this.rest.getOrNull<Obj>(`${SNAP}/volumesnapshotcontents/${content}`);
    if (vsc?.spec?.deletionPolicy !== 'Delete') return;
    fs.rmSync(path.join(this.cfg.snapshotsDir, content), { recursive: true, force: true });
    await this.rest.delete(`${SNAP}/volumesnapshotcontents/${content}`);
  }

  /** Creates the VolumeAttachment for a pod's volume and marks it attached, as kubelet plus attacher would. */
  async attach(pv: string): Promise<string> {
    const name = `csi-${createHash('sha256').update(`${pv}${this.cfg.driver}${this.cfg.nodeName}`).digest('hex')}`;
    if (!(await this.rest.getOrNull(`/apis/storage.k8s.io/v1/volumeattachments/${name}`))) {
      await this.rest.create('/apis/storage.k8s.io/v1/volumeattachments', {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'VolumeAttachment',
        metadata: { name },
        spec: { attacher: this.cfg.driver, nodeName: this.cfg.nodeName, source: { persistentVolumeName: pv } },
      });
    }
    await this.rest.patch(`/apis/storage.k8s.io/v1/volumeattachments/${name}/status`, { status: { attached: true } });
    return name;
  }

  /** Deletes a VolumeAttachment once nothing on the node uses the volume. */
  async detach(attachment: string): Promise<void> {
    await this.rest.delete(`/apis/storage.k8s.io/v1/volumeattachments/${attachment}`);
  }
}

/**
 * The node's storage: one controller per StorageClass (the default `local-path`, and `local-xfs` on a reflink
 * filesystem where the machine can mount one), each event handed to the controller whose class or driver it is.
 */
export class NodeStorage {
  private readonly rest: KubeRest;
  readonly controllers: StorageController[];

  constructor(rest: KubeRest, controllers: StorageController[]) {
    this.rest = rest;
    this.controllers = controllers;
  }

  private byClass(cls: string | undefined): StorageController {
    const c = this.controllers.find((x) => x.cfg.storageClass === cls);
    if (!c) throw new Error(`no storage on this node for StorageClass ${cls ?? '(none)'}`);
    return c;
  }

  private byDriver(driver: string | undefined): StorageController | undefined {
    return this.controllers.find((x) => x.cfg.driver === driver);
  }

  private async claimClass(ns: string, claim: string): Promise<string | undefined> {
    return (await this.rest.get<Obj>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`)).spec
      ?.storageClassName as string | undefined;
  }

  async onClaim(pvc: Obj): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.onClaim(pvc)));
  }

  async onVolume(pv: Obj): Promise<void> {
    await this.byDriver(pv.spec?.csi?.driver)?.onVolume(pv);
  }

  async onSnapshot(vs: Obj): Promise<void> {
    const claim = vs.spec?.source?.persistentVolumeClaimName as string | undefined;
    if (!claim || vs.status?.boundVolumeSnapshotContentName) return;
    const cls = await this.claimClass(vs.metadata.namespace as string, claim).catch(() => undefined);
    await (this.controllers.find((x) => x.cfg.storageClass === cls) ?? this.controllers[0])?.onSnapshot(vs);
  }

  async onSnapshotDeleted(vs: Obj): Promise<void> {
    const content = vs.status?.boundVolumeSnapshotContentName as string | undefined;
    if (!content) return;
    const vsc = await this.rest.getOrNull<Obj>(`${SNAP}/volumesnapshotcontents/${content}`);
    await this.byDriver(vsc?.spec?.driver)?.onSnapshotDeleted(vs);
  }

  async pvcPath(ns: string, claim: string): Promise<{ dir: string; pv: string }> {
    return this.byClass(await this.claimClass(ns, claim)).pvcPath(ns, claim);
  }

  async attach(pv: string): Promise<string> {
    const obj = await this.rest.get<Obj>(`/api/v1/persistentvolumes/${pv}`);
    const c = this.byDriver(obj.spec?.csi?.driver);
    if (!c) throw new Error(`volume ${pv} is not provisioned by a driver of this node`);
    return c.attach(pv);
  }

  async detach(attachment: string): Promise<void> {
    await this.controllers[0]?.detach(attachment);
  }
}

/**
 * An XFS filesystem with reflinks on a sparse loop file, where the machine lets us make and mount one (root, loop
 * devices, xfsprogs): the `local-xfs` StorageClass lives there, so that `--method clone` works and snapshots are
 * copy-on-write, as on real CSI drivers. Undefined, with the reason, where it cannot be had.
 */
export async function mountReflinkFs(
  dir: string,
  sizeGiB: number,
): Promise<{ mountPoint: string; unmount(): Promise<void> } | { reason: string }> {
  const img = `${dir}.img`;
  const mountPoint = dir;
  try {
    fs.mkdirSync(mountPoint, { recursive: true });
    fs.rmSync(img, { force: true });
    await run('truncate', ['-s', `${sizeGiB}G`, img]);
    await run('mkfs.xfs', ['-q', '-m', 'reflink=1', img]);
    await run('mount', ['-o', 'loop', img, mountPoint]);
    fs.chmodSync(mountPoint, 0o755);
  } catch (err) {
    fs.rmSync(img, { force: true });
    return { reason: ((err as { stderr?: string }).stderr || (err as Error).message).trim() };
  }
  return {
    mountPoint,
    unmount: async () => {
      await run('umount', ['-l', mountPoint]).catch(() => undefined);
      fs.rmSync(img, { force: true });
    },
  };
}
