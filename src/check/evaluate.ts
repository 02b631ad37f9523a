import type { DatabaseFacts, ServerFacts, VolumeFacts } from '../postgres/facts.ts';
import { estimateDowntime, initdbOptions, verifyExtensions, verifyLocales, verifyPasswords, verifyPgUpgradeRules, type Finding } from '../postgres/rules.ts';
import { enforcedLevel, verifyJobIdentity, verifyLeftovers, verifySpace } from '../postgres/rules-volume.ts';
import { majorOf, type Method } from '../postgres/versions.ts';
import { describePermissions, type Permission } from '../rbac.ts';
import type { Discovery } from './discover.ts';

/** Everything check learnt, ready to be judged. */
export interface Evidence {
  d: Discovery;
  to: number;
  method: Method;
  targetImage: string;
  targetIsStock: boolean;
  access: Array<{ permission: Permission; allowed: boolean }>;
  snapshotDrivers?: string[];
  server?: ServerFacts;
  databases?: Map<string, DatabaseFacts>;
  credentialsError?: string;
  volume?: VolumeFacts;
  pathProblem?: string;
}

const f = (id: string, title: string, status: Finding['status'], found: string, fix?: string): Finding => ({ id, title, status, found, ...(fix ? { fix } : {}) });

/** Access: every permission the chosen method needs, by SelfSubjectAccessReview. */
export function verifyAccess(e: Evidence): Finding {
  const missing = e.access.filter((a) => !a.allowed).map((a) => a.permission);
  const need = describePermissions(e.access.map((a) => a.permission)).length;
  if (missing.length === 0) return f('access', 'Access to everything the upgrade needs', 'pass', `${need} permissions granted for --method ${e.method}`);
  return f('access', 'Access to everything the upgrade needs', 'fail', `missing in namespace ${e.d.namespace}: ${describePermissions(missing).join(', ')}`,
    'ask your cluster admin for a Role with these verbs (the README lists the whole Role)');
}

/** Snapshot readiness: a VolumeSnapshotClass for the PVC's CSI driver. */
export function verifySnapshots(e: Evidence): Finding {
  const driver = e.d.csiDriver;
  if (e.snapshotDrivers === undefined) return f('snapshot', 'Snapshots are possible', 'warn', 'the VolumeSnapshot API is not installed in this cluster', 'install the external-snapshotter CRDs and controller, or take a backup yourself and pass --no-snapshot to upgrade');
  if (driver && e.snapshotDrivers.includes(driver)) return f('snapshot', 'Snapshots are possible', 'pass', `a VolumeSnapshotClass exists for ${driver}`);
  return f('snapshot', 'Snapshots are possible', 'warn', `no VolumeSnapshotClass for the PVC's driver ${driver ?? '(no StorageClass)'}`,
    'create a VolumeSnapshotClass for that driver, or back up with pg_dump / your cloud\'s disk snapshot and pass --no-snapshot to upgrade');
}

/** Pods besides the database's that mount its PVC, and tools that would revert an image patch. */
export function verifyVolumeUsers(e: Evidence): Finding[] {
  const users = e.d.volumeUsers;
  const out = [users.length
    ? f('volume-users', 'Only the database mounts its volume', 'fail', `pods mounting PVC ${e.d.pvc.metadata.name}: ${users.join(', ')}`, 'delete or scale down those pods; the upgrade cannot detach the volume while they run')
    : f('volume-users', 'Only the database mounts its volume', 'pass', `only ${e.d.pod?.metadata.name ?? 'the database pod'}`)];
  out.push(e.d.managers.length
    ? f('managed-by', 'No controller reverts the image', 'warn', `managed by ${e.d.managers.join(', ')}: a sync would put the old image back`, 'pause syncing (Argo CD/Flux), or change the image in the chart values right after the upgrade')
    : f('managed-by', 'No controller reverts the image', 'pass', 'no Helm, Argo CD or Flux markers'));
  return out;
}

/** All findings, in the report's order. */
export function evaluate(e: Evidence): Finding[] {
  const out: Finding[] = [verifyAccess(e)];
  out.push(e.pathProblem ? f('upgrade-path', 'Upgrade path is supported', 'fail', e.pathProblem, 'choose --to from the supported majors') : f('upgrade-path', 'Upgrade path is supported', 'pass', `${e.server ? majorOf(String(e.server.versionNum)) : 'unknown'} → ${e.to} with ${e.method}, image ${e.targetImage}`));
  if (e.credentialsError !== undefined || !e.server || !e.databases) {
    out.push(f('credentials', 'The superuser can connect', 'fail', e.credentialsError ?? 'not tried', `check that Secret ${e.d.superuser?.secret?.name}/${e.d.superuser?.secret?.key} holds ${e.d.superuser?.user}'s current password`));
  } else {
    out.push(f('credentials', 'The superuser can connect', 'pass', `${e.d.superuser?.user} with the password from Secret ${e.d.superuser?.secret?.name} (key ${e.d.superuser?.secret?.key})`));
    const from = majorOf(String(e.server.versionNum));
    const input = { from, to: e.to, method: e.method, server: e.server, databases: e.databases, targetIsStock: e.targetIsStock };
    out.push(verifyLocales(input), verifyExtensions(input), verifyPasswords(input), ...verifyPgUpgradeRules(input));
  }
  if (e.volume) {
    out.push(verifySpace(e.volume, e.method, e.d.pvc.capacityBytes));
    out.push(verifyJobIdentity(e.volume, enforcedLevel(e.d.namespaceLabels), e.server?.dataDirectory ?? e.d.pgdata, e.d.fsGroup));
  }
  out.push(verifySnapshots(e), ...verifyVolumeUsers(e));
  if (e.volume) {
    const annotations = Object.keys(e.d.workload.metadata.annotations ?? {}).filter((k) => k.startsWith('pgupgrade.'));
    out.push(verifyLeftovers(e.volume, e.server?.dataDirectory ?? e.d.pgdata, annotations));
  }
  return out;
}

/** The downtime estimate and the initdb options, when the server answered. */
export function plan(e: Evidence): { initdb?: string[]; estimate?: { seconds: number; formula: string } } {
  if (!e.server || !e.databases) return {};
  const relations = [...e.databases.values()].reduce((n, db) => n + db.relations, 0);
  const bytes = e.volume?.dataBytes ?? e.server.databases.reduce((n, db) => n + db.sizeBytes, 0);
  return { initdb: initdbOptions(e.server), estimate: estimateDowntime(e.method, bytes, relations) };
}
