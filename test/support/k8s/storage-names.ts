/**
 * The names the test environment's storage goes by. Immediate binding (not WaitForFirstConsumer) because the
 * node agent is the only node and binds pods itself, without kube-scheduler's volume binding.
 */
export const STORAGE = {
  driver: 'local-path.pgupgrade.test',
  storageClass: 'local-path',
  snapshotClass: 'local-path-snapshots',
} as const;

/** The reflink-capable class, on an XFS loop filesystem, where the machine allows one (see mountReflinkFs). */
export const XFS_STORAGE = {
  driver: 'local-xfs.pgupgrade.test',
  storageClass: 'local-xfs',
  snapshotClass: 'local-xfs-snapshots',
} as const;
