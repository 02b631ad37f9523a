import type { KObject } from '../k8s/cluster.ts';
import { REMOVE_OLD_CLUSTER_SCRIPT } from '../postgres/cleanup-script.ts';
import { ROLLBACK_JOB_SCRIPT } from '../postgres/rollback-script.ts';
import { UPGRADE_JOB_SCRIPT } from '../postgres/upgrade-script.ts';
import { OWNED_LABELS, type VolumePodSpec } from './probe-pod.ts';

/** What the in-place upgrade Job needs to know. */
export interface UpgradeJobSpec extends VolumePodSpec {
  pgdata: string;
  from: number;
  to: number;
  method: 'link' | 'copy' | 'clone' | 'swap';
  installUser: string;
  removedSettings: string[];
  initdb: string[];
  /** The volume's root, when the old cluster lies there and the Job first moves it into `pgdata` (relayout.ts). */
  root?: string;
  /** max_locks_per_transaction for pg_upgrade's two servers, when the cluster's own is too small (locks.ts). */
  maxLocks?: number;
}

/**
 * The one-shot upgrade Job: backoffLimit 0 (a failed pg_upgrade is looked at, never retried blindly), the data
 * PVC at the workload's own mount path, the data owner's UID, non-root and Pod Security `restricted`; no chown,
 * no root, no secret (pg_upgrade connects over its own socket with trust for that socket only).
 */
export function buildUpgradeJob(s: UpgradeJobSpec): KObject {
  return volumeJob(s, 'upgrade-job', `${s.from} to ${s.to}, ${s.method}`, [
    'sh',
    '-c',
    UPGRADE_JOB_SCRIPT,
    'pgupgrade',
    s.pgdata,
    String(s.from),
    String(s.to),
    s.method,
    s.installUser,
    s.removedSettings.join(' '),
    s.root ?? '',
    s.maxLocks ? String(s.maxLocks) : '',
    ...s.initdb,
  ]);
}

/** The rollback Job: undoes the directory work of an upgrade whose new server never started. Same identity and profile. */
export function buildRollbackJob(s: UpgradeJobSpec): KObject {
  return volumeJob({ ...s, name: rollbackJobName(s) }, 'rollback-job', `back from ${s.to} to ${s.from}`, [
    'sh',
    '-c',
    ROLLBACK_JOB_SCRIPT,
    'pgupgrade',
    s.pgdata,
    String(s.from),
    String(s.to),
    s.root ?? '',
  ]);
}

function volumeJob(s: VolumePodSpec, role: string, what: string, command: string[]): KObject {
  const labels = { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': role };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels,
      annotations: { 'pgupgrade.kubectl.io/workload': s.workload, 'pgupgrade.kubectl.io/upgrade': what },
    },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 7 * 24 * 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 60,
          ...(s.nodeName ? { nodeName: s.nodeName } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: s.uid,
            runAsGroup: s.gid,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'upgrade',
              image: s.image,
              command,
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
              volumeMounts: [
                { name: 'data', mountPath: s.mountPath },
                { name: 'scratch', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: s.claim } },
            { name: 'scratch', emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** The name of `cleanup`'s Job for an upgrade: the upgrade Job's, cut so that the whole hash stays, with `-cleanup`. */
export function cleanupJobName(s: Pick<UpgradeJobSpec, 'name'>): string {
  return `${s.name.slice(0, 52)}-cleanup`;
}

/** The name of the rollback Job of an upgrade. */
export function rollbackJobName(s: Pick<UpgradeJobSpec, 'name'>): string {
  return `${s.name.slice(0, 52)}-rollback`;
}

/**
 * `cleanup`'s Job: removes the old cluster beside the running database, so it runs on the database pod's node (the
 * PVC is ReadWriteOnce), with the upgrade Job's identity and profile (non-root, Pod Security `restricted`).
 */
export function buildCleanupJob(s: UpgradeJobSpec, nodeName: string | undefined): KObject {
  return volumeJob(
    { ...s, name: cleanupJobName(s), nodeName },
    'cleanup-job',
    `removes the old cluster of PostgreSQL ${s.from}`,
    ['sh', '-c', REMOVE_OLD_CLUSTER_SCRIPT, 'pgupgrade', s.pgdata, String(s.from), String(s.to)],
  );
}
