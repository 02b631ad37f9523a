import * as fs from 'node:fs';
import * as path from 'node:path';

/** Reads Secrets, ConfigMaps and PVC host paths for the pod's namespace. */
export interface VolumeSources {
  secret(name: string): Promise<Record<string, string> | undefined>; // values base64, as the API holds them
  configMap(name: string): Promise<Record<string, string> | undefined>;
  pvcPath(claim: string): Promise<string>;
  /** A service-account token from the TokenRequest API, for projected serviceAccountToken sources. */
  token(serviceAccount: string, audience: string | undefined, expirationSeconds: number): Promise<string>;
  podField(fieldPath: string): string;
}

/** A pod volume made real on the host: its host directory (or file) and whether it must be mounted read-only. */
export interface HostVolume {
  hostPath: string;
  readOnly: boolean;
}

type Json = Record<string, unknown>;
interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/**
 * Makes each volume of a pod spec exist on the host under `podDir`: emptyDir as a fresh directory, secret,
 * configMap and projected volumes as files (mode from defaultMode/items, group-readable by fsGroup), PVCs as
 * their provisioned directories. The kubelet's atomic-writer symlinks are not reproduced: files are plain.
 */
export async function materializeVolumes(
  volumes: Json[],
  podDir: string,
  src: VolumeSources,
  fsGroup?: number,
  serviceAccount = 'default',
): Promise<Map<string, HostVolume>> {
  const out = new Map<string, HostVolume>();
  for (const v of volumes) {
    const name = String(v.name);
    const dir = path.join(podDir, 'volumes', name);
    if (v.persistentVolumeClaim) {
      const pvc = v.persistentVolumeClaim as { claimName: string; readOnly?: boolean };
      const hostPath = await src.pvcPath(pvc.claimName);
      if (fsGroup !== undefined) applyFsGroupToRoot(hostPath, fsGroup);
      out.set(name, { hostPath, readOnly: pvc.readOnly === true });
    } else if (v.emptyDir) {
      // fsGroup: the group owns the volume root with setgid, as fsGroupChangePolicy OnRootMismatch leaves it.
      fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
      fs.chmodSync(dir, 0o777);
      if (fsGroup !== undefined) applyFsGroupToRoot(dir, fsGroup);
      out.set(name, { hostPath: dir, readOnly: false });
    } else if (v.secret || v.configMap || v.projected) {
      fs.mkdirSync(dir, { recursive: true });
      await writeProjection(v, dir, src, fsGroup, serviceAccount);
      out.set(name, { hostPath: dir, readOnly: true });
    } else {
      throw new Error(
        `volume ${name}: only persistentVolumeClaim, emptyDir, secret, configMap and projected are supported`,
      );
    }
  }
  return out;
}

async function writeProjection(
  v: Json,
  dir: string,
  src: VolumeSources,
  fsGroup: number | undefined,
  serviceAccount: string,
): Promise<void> {
  const sources: Json[] = v.projected ? ((v.projected as Json).sources as Json[]) : [v];
  const defaultMode = Number(
    (v.projected as Json | undefined)?.defaultMode ??
      (v.secret as Json | undefined)?.defaultMode ??
      (v.configMap as Json | undefined)?.defaultMode ??
      0o644,
  );
  for (const s of sources) {
    if (s.serviceAccountToken || s.downwardAPI) {
      await writeSpecial(s, dir, src, serviceAccount, defaultMode, fsGroup);
      continue;
    }
    const isSecret = !!s.secret;
    const ref = (s.secret ?? s.configMap) as
      | { secretName?: string; name?: string; items?: KeyToPath[]; optional?: boolean }
      | undefined;
    if (!ref) throw new Error('projected volume: only secret and configMap sources are supported');
    const refName = String(ref.secretName ?? ref.name);
    const data = isSecret ? await src.secret(refName) : await src.configMap(refName);
    if (!data) {
      if (ref.optional) continue;
      throw new Error(`${isSecret ? 'secret' : 'configmap'} "${refName}" not found`);
    }
    const items: KeyToPath[] = ref.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) {
      const value = data[item.key];
      if (value === undefined)
        throw new Error(`${isSecret ? 'secret' : 'configmap'} "${refName}" has no key "${item.key}"`);
      const file = path.join(dir, item.path);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, isSecret ? Buffer.from(value, 'base64') : value);
      fs.chmodSync(file, item.mode ?? defaultMode);
      if (fsGroup !== undefined) fs.chownSync(file, 0, fsGroup);
    }
  }
}

/**
 * The host path a container mounts for one volumeMount, with subPath resolved inside the volume. A subPath that
 * does not exist is made as the kubelet makes it, with the mode of the volume's root, after fsGroup was applied
 * to that root (setgid): so it gets the pod's group, group-writable, as the root did. The Bitnami chart mounts
 * emptyDir subPaths at /opt/bitnami/postgresql/tmp, conf and logs, which UID 1001 must write to. An existing
 * subPath is left as it is, as fsGroupChangePolicy OnRootMismatch leaves it (PGDATA keeps its 0700).
 */
export function mountSource(vol: HostVolume, subPath?: string): string {
  if (!subPath) return vol.hostPath;
  const resolved = path.resolve(vol.hostPath, subPath);
  if (!resolved.startsWith(vol.hostPath + path.sep)) throw new Error(`subPath ${subPath} escapes its volume`);
  const mode = fs.statSync(vol.hostPath).mode & 0o7777;
  for (
    let d = vol.hostPath, rest = path.relative(vol.hostPath, resolved).split(path.sep);
    rest.length;
    rest = rest.slice(1)
  ) {
    d = path.join(d, rest[0] as string);
    if (fs.existsSync(d)) continue;
    fs.mkdirSync(d); // in a setgid directory: the directory's group, and setgid, are inherited
    fs.chmodSync(d, mode); // not the agent's umask
  }
  return resolved;
}

async function writeSpecial(
  s: Json,
  dir: string,
  src: VolumeSources,
  serviceAccount: string,
  mode: number,
  fsGroup?: number,
): Promise<void> {
  const files: Array<[string, string]> = [];
  if (s.serviceAccountToken) {
    const t = s.serviceAccountToken as { path: string; audience?: string; expirationSeconds?: number };
    files.push([t.path, await src.token(serviceAccount, t.audience, t.expirationSeconds ?? 3607)]);
  } else {
    for (const item of (s.downwardAPI as Json).items as Array<{ path: string; fieldRef?: { fieldPath: string } }>) {
      if (!item.fieldRef) throw new Error('downwardAPI: only fieldRef items are supported');
      files.push([item.path, src.podField(item.fieldRef.fieldPath)]);
    }
  }
  for (const [rel, value] of files) {
    const file = path.join(dir, rel);
    fs.writeFileSync(file, value);
    fs.chmodSync(file, mode);
    if (fsGroup !== undefined) fs.chownSync(file, 0, fsGroup);
  }
}

/**
 * The kubelet's fsGroup ownership change with fsGroupChangePolicy OnRootMismatch: when the volume root is not
 * group-owned by fsGroup, it becomes so, group-writable and setgid. The recursive walk of policy Always is not
 * reproduced (it would chmod PGDATA to 2770, which postgres refuses, and Bitnami relies on OnRootMismatch).
 */
export function applyFsGroupToRoot(dir: string, fsGroup: number): void {
  const st = fs.statSync(dir);
  if (st.gid === fsGroup) return;
  fs.chownSync(dir, st.uid, fsGroup);
  fs.chmodSync(dir, (st.mode & 0o7777) | 0o2070);
}
