// The findings about the cluster around the database: access, snapshots, who mounts the volume, the target image, the layout.
import { managedBy } from './managed-by.ts';
import { bitnamiTargetNote } from '../postgres/images.ts';
import type { Finding } from '../postgres/rules.ts';
import { relayoutNote, type relayoutFor } from '../postgres/relayout.ts';
import { describePermissions } from '../rbac.ts';
import { f, type Evidence } from './finding.ts';

/** Access: every permission the chosen method needs, by SelfSubjectAccessReview. */
export function verifyAccess(e: Evidence): Finding {
  const missing = e.access.filter((a) => !a.allowed).map((a) => a.permission);
  const need = describePermissions(e.access.map((a) => a.permission)).length;
  if (missing.length === 0)
    return f(
      'access',
      'Access to everything the upgrade needs',
      'pass',
      `${need} permissions granted for --method ${e.method}`,
    );
  return f(
    'access',
    'Access to everything the upgrade needs',
    'fail',
    `missing in namespace ${e.d.namespace}: ${describePermissions(missing).join(', ')}`,
    'ask your cluster admin for a Role with these verbs (docs/rbac.md lists a Role for every command)',
  );
}

/** Snapshot readiness: a VolumeSnapshotClass for the PVC's CSI driver. */
export function verifySnapshots(e: Evidence): Finding {
  const driver = e.d.csiDriver;
  if (e.snapshotDrivers === undefined)
    return f(
      'snapshot',
      'Snapshots are possible',
      'warn',
      'the VolumeSnapshot API is not installed in this cluster',
      'install the external-snapshotter CRDs and controller, or take a backup yourself and pass --no-snapshot to upgrade',
    );
  if (driver && e.snapshotDrivers.includes(driver))
    return f('snapshot', 'Snapshots are possible', 'pass', `a VolumeSnapshotClass exists for ${driver}`);
  return f(
    'snapshot',
    'Snapshots are possible',
    'warn',
    `no VolumeSnapshotClass for the PVC's driver ${driver ?? '(no StorageClass)'}`,
    "create a VolumeSnapshotClass for that driver, or back up with pg_dump / your cloud's disk snapshot and pass --no-snapshot to upgrade",
  );
}

/** Pods besides the database's that mount its PVC, and tools that would revert an image patch. */
export function verifyVolumeUsers(e: Evidence): Finding[] {
  const users = e.d.volumeUsers;
  const out = [
    users.length
      ? f(
          'volume-users',
          'Only the database mounts its volume',
          'fail',
          `pods mounting PVC ${e.d.pvc?.metadata.name}: ${users.join(', ')}`,
          'delete or scale down those pods; the upgrade cannot detach the volume while they run',
        )
      : f(
          'volume-users',
          'Only the database mounts its volume',
          'pass',
          `only ${e.d.pod?.metadata.name ?? 'the database pod'}`,
        ),
  ];
  out.push(managedBy(e, e.ownerReadings));
  return out;
}

/** A Bitnami source's default target is frozen (bitnamilegacy), or does not exist: a warning with the ways out. */
export function verifyTargetImage(e: Evidence): Finding[] {
  const n = e.workloadImage === undefined ? bitnamiTargetNote(e.d.image, e.to) : undefined;
  return n ? [f('target-image', 'The target image exists and gets updates', 'warn', n.note, n.fix)] : [];
}

/** PGDATA at the root of its volume: the upgrade moves the cluster into a directory of its own (a WARN that says how). */
export function verifyLayout(e: Evidence, r: ReturnType<typeof relayoutFor>): Finding[] {
  if (r === undefined) return [];
  if (r === 'bitnami') {
    return [
      f(
        'layout',
        'PGDATA has a directory of its own',
        'fail',
        `POSTGRESQL_DATA_DIR ${e.d.pgdata} is the root of the volume, which Bitnami's scripts cannot have moved`,
        `set POSTGRESQL_DATA_DIR to a subdirectory (e.g. ${e.d.mountPath}/data) first, or use --method dump`,
      ),
    ];
  }
  return [
    f(
      'layout',
      'PGDATA has a directory of its own',
      'warn',
      relayoutNote(r),
      'nothing to do; with --no-patch-workload, make the same change to the workload yourself (the upgrade prints it)',
    ),
  ];
}
