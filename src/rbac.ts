/** One permission a command needs, as SelfSubjectAccessReview and a Role rule spell it. */
export interface Permission {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  clusterScoped?: boolean;
}

/**
 * What each shipped command needs from RBAC. The krew caveats and docs/rbac.md are generated from this table,
 * and commands that check access ask the apiserver for exactly these, so the three never disagree.
 */
const p = (verb: string, group: string, resource: string, extra: Partial<Permission> = {}): Permission => ({
  verb,
  group,
  resource,
  ...extra,
});

/** Discovery lists CronJobs and Jobs to name the clients that run a PostgreSQL image (it does without, on a 403). */
const JOB_CLIENTS: Permission[] = [p('list', 'batch', 'cronjobs'), p('list', 'batch', 'jobs')];

const CHECK: Permission[] = [
  p('get', 'apps', 'statefulsets'),
  p('list', 'apps', 'statefulsets'),
  p('get', 'apps', 'deployments'),
  p('list', 'apps', 'deployments'),
  // Exec over WebSocket is a GET, authorised as `get pods/exec`; since 1.35 the apiserver also wants `create`.
  p('list', '', 'pods'),
  p('get', '', 'pods', { subresource: 'exec' }),
  p('create', '', 'pods', { subresource: 'exec' }),
  p('get', '', 'secrets'),
  p('get', '', 'persistentvolumeclaims'),
  // A crash-looping database's log: the major its data has, when a bumped image refuses it.
  p('get', '', 'pods', { subresource: 'log' }),
  // A POSTGRES_USER (or password) that reaches the container through envFrom of a ConfigMap.
  p('get', '', 'configmaps'),
  // The probe pod that reads a stopped database's volume.
  p('get', '', 'pods'),
  p('create', '', 'pods'),
  p('delete', '', 'pods'),
  p('get', '', 'namespaces', { clusterScoped: true }),
  p('get', 'storage.k8s.io', 'storageclasses', { clusterScoped: true }),
  p('list', 'snapshot.storage.k8s.io', 'volumesnapshotclasses', { clusterScoped: true }),
  // CronJobs and Jobs on a PostgreSQL image (backups, psql jobs): named as clients, never taken for the database.
  ...JOB_CLIENTS,
];

/** `snapshot`: discovery, exec for the CHECKPOINT, the snapshot and its fingerprint; --verify restores to a temporary PVC. */
const SNAPSHOT: Permission[] = [
  p('get', 'apps', 'statefulsets'),
  p('list', 'apps', 'statefulsets'),
  p('get', 'apps', 'deployments'),
  p('list', 'apps', 'deployments'),
  p('list', '', 'pods'),
  p('get', '', 'pods', { subresource: 'exec' }),
  p('create', '', 'pods', { subresource: 'exec' }),
  p('get', '', 'secrets'),
  p('get', '', 'persistentvolumeclaims'),
  p('get', '', 'namespaces', { clusterScoped: true }),
  p('get', 'storage.k8s.io', 'storageclasses', { clusterScoped: true }),
  p('list', 'snapshot.storage.k8s.io', 'volumesnapshotclasses', { clusterScoped: true }),
  p('create', 'snapshot.storage.k8s.io', 'volumesnapshots'),
  p('get', 'snapshot.storage.k8s.io', 'volumesnapshots'),
  p('list', 'snapshot.storage.k8s.io', 'volumesnapshots'),
  p('create', '', 'configmaps'),
  p('get', '', 'configmaps'),
  p('list', '', 'configmaps'),
  // --verify keeps a fingerprint, its checksums keyed by the namespace's key (Secret pgupgrade-record-key), made on first use.
  p('create', '', 'secrets'),
  // The probe pod of a stopped database, and --verify's restored PVC and pod.
  p('get', '', 'pods'),
  p('create', '', 'pods'),
  p('delete', '', 'pods'),
  p('create', '', 'persistentvolumeclaims'),
  p('delete', '', 'persistentvolumeclaims'),
  ...JOB_CLIENTS,
];

/** `validate`: discovery, exec for psql (checks and repairs alike), the record and the reference, the upgrade's Jobs. */
const VALIDATE: Permission[] = [
  p('get', 'apps', 'statefulsets'),
  p('list', 'apps', 'statefulsets'),
  p('get', 'apps', 'deployments'),
  p('list', 'apps', 'deployments'),
  p('list', '', 'pods'),
  p('get', '', 'pods', { subresource: 'exec' }),
  p('create', '', 'pods', { subresource: 'exec' }),
  p('get', '', 'secrets'),
  p('get', '', 'persistentvolumeclaims'),
  p('get', '', 'configmaps'),
  ...JOB_CLIENTS,
  // validated-at on the upgrade's record, when every check passes: what cleanup waits for.
  p('patch', '', 'configmaps'),
  p('get', '', 'namespaces', { clusterScoped: true }),
  p('get', 'storage.k8s.io', 'storageclasses', { clusterScoped: true }),
];

/** What an in-place upgrade needs on top of check: scale and patch workloads, a Job, a snapshot, a record. */
const UPGRADE_IN_PLACE: Permission[] = [
  ...CHECK,
  p('patch', 'apps', 'statefulsets'),
  p('patch', 'apps', 'deployments'),
  p('create', 'batch', 'jobs'),
  p('get', 'batch', 'jobs'),
  p('delete', 'batch', 'jobs'),
  p('get', '', 'pods', { subresource: 'log' }),
  p('create', 'snapshot.storage.k8s.io', 'volumesnapshots'),
  p('get', 'snapshot.storage.k8s.io', 'volumesnapshots'),
  // The record of the upgrade and the fingerprint.
  p('create', '', 'configmaps'),
  p('get', '', 'configmaps'),
  p('patch', '', 'configmaps'),
  p('delete', '', 'configmaps'),
  // The key that seals the records (Secret pgupgrade-record-key), made on the namespace's first upgrade; the new
  // instance's superuser Secret, when a dump's source's cannot be shared.
  p('create', '', 'secrets'),
  // The lock that keeps a second run (or a rollback) from acting on the same upgrade at the same time.
  p('create', 'coordination.k8s.io', 'leases'),
  p('get', 'coordination.k8s.io', 'leases'),
  p('patch', 'coordination.k8s.io', 'leases'),
  p('delete', 'coordination.k8s.io', 'leases'),
  p('list', 'storage.k8s.io', 'volumeattachments', { clusterScoped: true }),
  // --rollback from the snapshot re-creates the data PVC from it, its old volume set to Retain first.
  p('delete', '', 'persistentvolumeclaims'),
  p('create', '', 'persistentvolumeclaims'),
  p('get', '', 'persistentvolumes', { clusterScoped: true }),
  p('patch', '', 'persistentvolumes', { clusterScoped: true }),
  // --rehearse removes the snapshot it took of the live volume (its clone PVC, Job and pods are covered above).
  p('delete', 'snapshot.storage.k8s.io', 'volumesnapshots'),
];

/** A dump/restore builds a second instance and moves the Service to it. */
const UPGRADE_DUMP: Permission[] = [
  ...UPGRADE_IN_PLACE,
  p('create', '', 'persistentvolumeclaims'),
  p('create', 'apps', 'statefulsets'),
  p('create', 'apps', 'deployments'),
  // The new instance's own Service; the Services that lead to the source are read, and their selectors patched at cutover.
  p('create', '', 'services'),
  p('get', '', 'services'),
  p('list', '', 'services'),
  p('patch', '', 'services'),
];

/**
 * `cleanup`: discovery, a look at the volume from the database pod, the Job that removes the old cluster, and the
 * deletes of what the upgrade made; the lock of the upgrade while it removes.
 */
const CLEANUP: Permission[] = [
  p('get', 'apps', 'statefulsets'),
  p('list', 'apps', 'statefulsets'),
  p('get', 'apps', 'deployments'),
  p('list', 'apps', 'deployments'),
  p('get', '', 'namespaces', { clusterScoped: true }),
  p('get', 'storage.k8s.io', 'storageclasses', { clusterScoped: true }),
  p('list', '', 'pods'),
  p('get', '', 'pods'),
  p('delete', '', 'pods'),
  p('get', '', 'pods', { subresource: 'exec' }),
  p('create', '', 'pods', { subresource: 'exec' }),
  p('get', '', 'pods', { subresource: 'log' }),
  p('create', 'batch', 'jobs'),
  p('get', 'batch', 'jobs'),
  p('list', 'batch', 'jobs'),
  p('delete', 'batch', 'jobs'),
  p('get', '', 'persistentvolumeclaims'),
  p('list', '', 'persistentvolumeclaims'),
  p('delete', '', 'persistentvolumeclaims'),
  p('get', 'snapshot.storage.k8s.io', 'volumesnapshots'),
  p('list', 'snapshot.storage.k8s.io', 'volumesnapshots'),
  p('delete', 'snapshot.storage.k8s.io', 'volumesnapshots'),
  p('get', '', 'configmaps'),
  p('list', '', 'configmaps'),
  p('delete', '', 'configmaps'),
  p('create', 'coordination.k8s.io', 'leases'),
  p('get', 'coordination.k8s.io', 'leases'),
  p('patch', 'coordination.k8s.io', 'leases'),
  p('delete', 'coordination.k8s.io', 'leases'),
  ...JOB_CLIENTS,
];

/**
 * After an upgrade by dump, cleanup also deletes an instance: the old one when named (--delete-old-instance), or
 * after a rollback the new one with its Service and the superuser Secret it made (its metadata only is read, for its labels).
 */
const CLEANUP_DUMP: Permission[] = [
  p('delete', 'apps', 'statefulsets'),
  p('delete', 'apps', 'deployments'),
  p('get', '', 'services'),
  p('delete', '', 'services'),
  p('get', '', 'secrets'),
  p('delete', '', 'secrets'),
];

/**
 * The Argo CD Application and Flux Kustomization/HelmRelease that a workload's markers name: read to know whether
 * they heal (a 403 or 404 falls back to the markers, so check's access check does not ask for them), patched only
 * with --pause-gitops (to pause and resume them). They may live in another namespace (Argo CD's, `argocd`).
 */
const GITOPS: Permission[] = [
  p('get', 'argoproj.io', 'applications'),
  p('get', 'kustomize.toolkit.fluxcd.io', 'kustomizations'),
  p('get', 'helm.toolkit.fluxcd.io', 'helmreleases'),
  p('patch', 'argoproj.io', 'applications'),
  p('patch', 'kustomize.toolkit.fluxcd.io', 'kustomizations'),
  p('patch', 'helm.toolkit.fluxcd.io', 'helmreleases'),
];

export const PERMISSIONS: Record<string, Permission[]> = {
  // /version is readable by every authenticated (and, by default, anonymous) user: system:public-info-viewer.
  version: [],
  completion: [],
  check: CHECK,
  snapshot: SNAPSHOT,
  // --method dump needs more than an in-place upgrade: the command's permissions are the dump method's.
  upgrade: [...UPGRADE_DUMP, ...GITOPS],
  validate: VALIDATE,
  cleanup: [...CLEANUP, ...CLEANUP_DUMP],
};

/** What cleanup asks the apiserver for: after an upgrade by dump, the deletes of instances too. */
export function cleanupPermissions(byDump: boolean): Permission[] {
  return byDump ? [...CLEANUP, ...CLEANUP_DUMP] : CLEANUP;
}

/**
 * The permissions that an upgrade by `method` will need (check's own included); check asks for them before any
 * downtime, so that an upgrade never stops halfway on a 403.
 */
export function permissionsForMethod(method: string): Permission[] {
  return method === 'dump' ? UPGRADE_DUMP : UPGRADE_IN_PLACE;
}

/** `verb group/resource[/sub]` lines for people, one per permission, without duplicates. */
export function describePermissions(perms: Permission[]): string[] {
  const lines = perms.map((p) => {
    const res = (p.group ? `${p.group}/` : '') + p.resource + (p.subresource ? `/${p.subresource}` : '');
    return `${p.verb} ${res}${p.clusterScoped ? ' (cluster-wide)' : ''}`;
  });
  return [...new Set(lines)];
}
