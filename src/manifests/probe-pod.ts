/** The labels that mark what the plugin creates, so that people and `cleanup` can find it. */
export const OWNED_LABELS = { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade' };

/** A pod of ours on the database's volume: where, what, and as whom. */
export interface VolumePodSpec {
  name: string;
  namespace: string;
  workload: string;
  image: string;
  claim: string;
  mountPath: string;
  uid: number;
  gid: number;
  nodeName?: string;
}

/** What a probe pod needs to know. */
export interface ProbeSpec extends VolumePodSpec {
  /** `check-probe` (default) or `snapshot-verify`. */
  role?: string;
  purpose?: string;
}

/**
 * A short-lived pod that mounts the stopped database's PVC at the workload's own mount path, as the data
 * directory's owner, and waits to be exec'd into. It passes Pod Security `restricted`, never restarts, and
 * deletes itself after an hour if the plugin that made it is killed before it can.
 */
export function buildProbePod(p: ProbeSpec): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': p.role ?? 'check-probe' },
      annotations: {
        'pgupgrade.kubectl.io/workload': p.workload,
        'pgupgrade.kubectl.io/purpose':
          p.purpose ?? 'read-only preflight of a stopped database; deleted when check ends',
      },
    },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      activeDeadlineSeconds: 3600,
      automountServiceAccountToken: false,
      ...(p.nodeName ? { nodeName: p.nodeName } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: p.uid,
        runAsGroup: p.gid,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'probe',
          image: p.image,
          command: ['sh', '-c', 'trap "exit 0" TERM INT; while :; do sleep 1; done'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
          volumeMounts: [
            { name: 'data', mountPath: p.mountPath },
            { name: 'scratch', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: p.claim } },
        { name: 'scratch', emptyDir: {} },
      ],
    },
  };
}
