// The RBAC tables of upgrade: in place, by dump (on top of in place), and the GitOps objects it reads and pauses.
import { CHECK, p, type Permission } from './rbac-rules.ts';

/** What an in-place upgrade needs on top of check: scale and patch workloads, a Job, a snapshot, a record. */
export const UPGRADE_IN_PLACE: Permission[] = [
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
export const UPGRADE_DUMP: Permission[] = [
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
 * The Argo CD Application and Flux Kustomization/HelmRelease that a workload's markers name: read to know whether
 * they heal (a 403 or 404 falls back to the markers, so check's access check does not ask for them), patched only
 * with --pause-gitops (to pause and resume them). They may live in another namespace (Argo CD's, `argocd`).
 */
export const GITOPS: Permission[] = [
  p('get', 'argoproj.io', 'applications'),
  p('get', 'kustomize.toolkit.fluxcd.io', 'kustomizations'),
  p('get', 'helm.toolkit.fluxcd.io', 'helmreleases'),
  p('patch', 'argoproj.io', 'applications'),
  p('patch', 'kustomize.toolkit.fluxcd.io', 'kustomizations'),
  p('patch', 'helm.toolkit.fluxcd.io', 'helmreleases'),
];
