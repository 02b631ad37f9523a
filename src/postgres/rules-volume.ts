import { formatBytes } from '../k8s/quantity.ts';
import type { VolumeFacts } from './volume-facts.ts';
import type { Finding } from './rules.ts';
import type { Method } from './versions.ts';

/** Free space on the volume for the method: the PVC's capacity bounds what df says. */
export function verifySpace(
  v: VolumeFacts,
  method: Method,
  capacityBytes: number | undefined,
  reflink?: boolean,
): Finding {
  // A filesystem much larger than the claim is shared (local-path, hostPath): what the volume uses is what du saw.
  const shared = capacityBytes !== undefined && v.fsBytes > capacityBytes * 1.1;
  const used = shared ? v.parentBytes : v.fsBytes - v.availBytes;
  const free = capacityBytes === undefined ? v.availBytes : Math.min(v.availBytes, Math.max(0, capacityBytes - used));
  const margin = 64 * 2 ** 20;
  const need = method === 'copy' ? Math.round(v.dataBytes * 1.1) + margin : margin;
  const inodes = method === 'copy' || method === 'clone' ? v.dataFiles + 1000 : 1000;
  const found = `data ${formatBytes(v.dataBytes)} in ${v.dataFiles} files; free ${formatBytes(free)}${capacityBytes !== undefined ? ` of a ${formatBytes(capacityBytes)} PVC` : ''}, ${v.availInodes} inodes; ${method} needs about ${formatBytes(need)} and ${inodes} inodes`;
  if (method === 'clone' && reflink === false) {
    return {
      id: 'space',
      title: 'Space on the data volume',
      status: 'fail',
      found: `${found}; a reflink copy (cp --reflink=always) failed beside PGDATA on this ${v.fsType} filesystem, so clone cannot work`,
      fix: 'use --method link (little space) or --method copy',
    };
  }
  if (free < need || v.availInodes < inodes) {
    return {
      id: 'space',
      title: 'Space on the data volume',
      status: 'fail',
      found,
      fix:
        method === 'copy'
          ? 'grow the PVC (allowVolumeExpansion) or use --method link, which needs almost no space'
          : 'free space or grow the PVC',
    };
  }
  return { id: 'space', title: 'Space on the data volume', status: 'pass', found };
}

/** The Pod Security level that a namespace enforces ('privileged' when unlabelled). */
export function enforcedLevel(labels: Record<string, string> | undefined): string {
  return labels?.['pod-security.kubernetes.io/enforce'] ?? 'privileged';
}

const canWrite = (dir: { uid: number; gid: number; mode: string }, uid: number, gids: number[]) => {
  const bits = parseInt(dir.mode.slice(-3), 8);
  if (dir.uid === uid) return (bits & 0o200) !== 0;
  if (gids.includes(dir.gid)) return (bits & 0o020) !== 0;
  return (bits & 0o002) !== 0;
};

/**
 * Can the upgrade Job run as the data directory's owner, non-root, and create the new data directory beside
 * the old one? The Job never chowns the data, so the owner decides who it runs as.
 */
export function verifyJobIdentity(v: VolumeFacts, psaLevel: string, pgdata: string, fsGroup?: number): Finding {
  const parent = pgdata.replace(/\/[^/]+\/?$/, '') || '/';
  const who = `data directory ${pgdata} owned by ${v.data.uid}:${v.data.gid} (${v.data.mode}); ${parent} owned by ${v.parent.uid}:${v.parent.gid} (${v.parent.mode}); namespace enforces Pod Security "${psaLevel}"`;
  if (v.data.uid === 0) {
    return {
      id: 'pod-security',
      title: 'The upgrade Job can run non-root',
      status: 'fail',
      found: who,
      fix: `PostgreSQL refuses to run as root and the Job would need root to use this data: chown -R the data directory to the database's UID once (e.g. 999 or 1001), then re-run check`,
    };
  }
  const gids = [v.data.gid, ...(fsGroup === undefined ? [] : [fsGroup])];
  if (canWrite(v.parent, v.data.uid, gids)) {
    return {
      id: 'pod-security',
      title: 'The upgrade Job can run non-root',
      status: 'pass',
      found: `${who}; the Job runs as ${v.data.uid}:${v.data.gid} and passes "restricted"`,
    };
  }
  const fix = `${parent} is not writable by UID ${v.data.uid}, so the new data directory can only be made by root. Once, with a root pod: chown ${v.data.uid}:${v.data.gid} ${parent}; or relabel the namespace for the upgrade (kubectl label ns <ns> pod-security.kubernetes.io/enforce=baseline --overwrite)`;
  if (psaLevel === 'restricted') {
    return {
      id: 'pod-security',
      title: 'The upgrade Job can run non-root',
      status: 'fail',
      found: `${who}: no Job that passes "restricted" can create the new data directory`,
      fix,
    };
  }
  return {
    id: 'pod-security',
    title: 'The upgrade Job can run non-root',
    status: 'warn',
    found: `${who}: the Job needs a root init container to create the new data directory (allowed by "${psaLevel}")`,
    fix,
  };
}

/** Directories and files that an earlier upgrade (ours or by hand) left behind. */
export function verifyLeftovers(v: VolumeFacts, pgdata: string, annotations: string[]): Finding {
  const base = pgdata.replace(/\/+$/, '').split('/').pop() ?? 'data';
  const pattern = new RegExp(
    `^(${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[-_.](\\d+|new|old|preupgrade|\\d+\\.preupgrade)|.*\\.preupgrade)$`,
  );
  // The upgrade Job's hold (hold-script.ts): the old cluster renamed aside, and the note that takes PGDATA's name.
  const hold = /^\.pgupgrade-(held-\d+|hold-note)$/;
  const dirs = v.parentEntries.filter((e) => pattern.test(e) || hold.test(e));
  const inside = v.insideData.map((f) => `${base}/${f}`);
  const all = [...dirs, ...inside, ...annotations.map((a) => `annotation ${a}`)];
  if (all.length === 0)
    return { id: 'leftovers', title: 'No leftovers from earlier upgrades', status: 'pass', found: 'none' };
  return {
    id: 'leftovers',
    title: 'No leftovers from earlier upgrades',
    status: 'fail',
    found: `${all.join(', ')}: a <name>-<major> or *.preupgrade directory is an old or half-made cluster from an earlier attempt; pg_upgrade_output.d means pg_upgrade stopped midway; .pgupgrade-held-<major> is the old cluster that an upgrade Job held aside (run the same upgrade again, or upgrade --rollback, which puts it back)`,
    fix: 'make sure the current cluster is the one you want and that you have a backup, then remove them (rm -rf in a pod that mounts the volume; kubectl annotate <workload> <key>-); an upgrade refuses to start beside them',
  };
}
