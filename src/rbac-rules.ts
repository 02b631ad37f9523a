// The RBAC tables of check, snapshot, validate and cleanup, and the shape of a permission; upgrade's are in
// rbac-upgrade-rules.ts, and rbac.ts puts them together per command.

/** One permission a command needs, as SelfSubjectAccessReview and a Role rule spell it. */
export interface Permission {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  clusterScoped?: boolean;
}

/** One permission: `verb`, API group (`''`: the core group) and resource, with `extra` (subresource, cluster scope). */
export const p = (verb: string, group: string, resource: string, extra: Partial<Permission> = {}): Permission => ({
  verb,
  group,
  resource,
  ...extra,
});

/** Discovery lists CronJobs and Jobs to name the clients that run a PostgreSQL image (it does without, on a 403). */
const JOB_CLIENTS: Permission[] = [p('list', 'batch', 'cronjobs'), p('list', 'batch', 'jobs')];

/** `check`: discovery, exec for psql, a crash-looping pod's log, the probe pod of a stopped database. */
export const CHECK: Permission[] = [
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
export const SNAPSHOT: Permission[] = [
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
export const VALIDATE: Permission[] = [
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

/**
 * `cleanup`: discovery, a look at the volume from the database pod, the Job that removes the old cluster, and the
 * deletes of what the upgrade made; the lock of the upgrade while it removes.
 */
export const CLEANUP: Permission[] = [
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
export const CLEANUP_DUMP: Permission[] = [
  p('delete', 'apps', 'statefulsets'),
  p('delete', 'apps', 'deployments'),
  p('get', '', 'services'),
  p('delete', '', 'services'),
  p('get', '', 'secrets'),
  p('delete', '', 'secrets'),
];
