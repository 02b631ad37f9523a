// The pods of the dump method's new instance: their labels and selector, their spec (the target image family's
// layout, the source's resources and placement) and the workload that runs them. Pure.
import type { KObject, Workload } from '../k8s/cluster.ts';
import { isSameFamily, targetEnv, type TargetLayout } from '../postgres/target-layout.ts';
import type { DumpTargetSpec } from './dump-target.ts';
import { OWNED_LABELS } from './probe-pod.ts';

const INSTANCE = 'pgupgrade.kubectl.io/instance';

/** The labels of the new instance's pods: the plugin's own, none of the source's. */
export function dumpTargetLabels(name: string): Record<string, string> {
  return { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'dump-target', [INSTANCE]: name };
}

/** The database container of the new instance: the family's env, data mount and probes, the source's resources. */
function targetContainer(spec: DumpTargetSpec, layout: TargetLayout): object {
  const c = spec.source.container;
  const probe = (period: number, failures: number) => ({
    exec: { command: layout.probeCommand },
    periodSeconds: period,
    timeoutSeconds: 5,
    failureThreshold: failures,
  });
  return {
    name: c.name,
    image: spec.image,
    env: targetEnv(c, spec.source.flavour, layout),
    // The same family reads the same variables: the source's envFrom (settings, or its Secret) still means what it meant.
    ...(isSameFamily(spec.source.flavour, layout.family) && c.envFrom ? { envFrom: c.envFrom } : {}),
    // The source's port name: a Service whose targetPort is a name finds the new pods by it after the cutover.
    ports: [{ name: c.ports?.[0]?.name ?? 'tcp-postgresql', containerPort: 5432 }],
    ...(c.resources ? { resources: c.resources } : {}),
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      runAsNonRoot: true,
      runAsUser: layout.uid,
      runAsGroup: layout.gid,
    },
    volumeMounts: [{ name: 'data', mountPath: layout.mountPath }],
    startupProbe: probe(2, 900),
    readinessProbe: probe(5, 3),
    livenessProbe: probe(10, 6),
  };
}

/**
 * The new instance's pod spec: Pod Security `restricted` as the family's user, the source's pull secrets and
 * placement, the database container on the PVC `claim`.
 */
export function targetPodSpec(spec: DumpTargetSpec, layout: TargetLayout, claim: string): object {
  const s = spec.source.workload.template.spec;
  return {
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: 30,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: layout.uid,
      runAsGroup: layout.gid,
      fsGroup: layout.gid,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(s.imagePullSecrets ? { imagePullSecrets: s.imagePullSecrets } : {}),
    ...(s.nodeSelector ? { nodeSelector: s.nodeSelector } : {}),
    ...(s.tolerations ? { tolerations: s.tolerations } : {}),
    ...(s.affinity ? { affinity: s.affinity } : {}),
    containers: [targetContainer(spec, layout)],
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
  };
}

/**
 * The workload of the new instance, of the source's kind, one replica of `template` selected by the instance's
 * label: a StatefulSet with its own Service name, or a Deployment that recreates (one pod on the volume at a time).
 */
export function targetWorkload(
  kind: Workload['kind'],
  metadata: KObject['metadata'],
  name: string,
  template: { metadata: { labels: Record<string, string> }; spec: object },
): KObject {
  const common = { replicas: 1, selector: { matchLabels: { [INSTANCE]: name } }, template };
  return kind === 'StatefulSet'
    ? { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata, spec: { ...common, serviceName: name } }
    : { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { ...common, strategy: { type: 'Recreate' } } };
}

/** The selector of the pods of a new instance the plugin made: what its cutover points the Services at. */
export function instanceSelector(name: string): Record<string, string> {
  return { [INSTANCE]: name };
}
