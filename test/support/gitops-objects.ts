import type { ControlPlane } from './k8s/control-plane.ts';

/**
 * Real objects of the real Argo CD and Flux CRDs (applied by the control plane's bootstrap), with the fields their
 * schemas require and no more; nothing reconciles them but the test's own healer (test/support/gitops-healer.ts).
 */
export const APPLICATIONS = '/apis/argoproj.io/v1alpha1';
export const KUSTOMIZATIONS = '/apis/kustomize.toolkit.fluxcd.io/v1';
export const HELMRELEASES = '/apis/helm.toolkit.fluxcd.io/v2';

/** An Argo CD Application in `ns` with automated sync and selfHeal. */
export async function createApplication(cp: ControlPlane, ns: string, name: string, target: string): Promise<void> {
  await cp.rest.create(`${APPLICATIONS}/namespaces/${ns}/applications`, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: ns },
    spec: {
      project: 'default',
      destination: { server: 'https://kubernetes.default.svc', namespace: target },
      source: { repoURL: 'https://git.example.invalid/shop.git', path: 'db', targetRevision: 'HEAD' },
      syncPolicy: { automated: { selfHeal: true, prune: true } },
    },
  });
}

/** A Flux Kustomization in `ns` (not suspended: it corrects drift). */
export async function createKustomization(cp: ControlPlane, ns: string, name: string): Promise<void> {
  await cp.rest.create(`${KUSTOMIZATIONS}/namespaces/${ns}/kustomizations`, {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: ns },
    spec: { interval: '1m', prune: true, path: './apps', sourceRef: { kind: 'GitRepository', name: 'shop' } },
  });
}

/** A Flux HelmRelease in `ns`, suspended or not. */
export async function createHelmRelease(cp: ControlPlane, ns: string, name: string, suspend: boolean): Promise<void> {
  await cp.rest.create(`${HELMRELEASES}/namespaces/${ns}/helmreleases`, {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name, namespace: ns },
    spec: {
      interval: '5m',
      suspend,
      chart: { spec: { chart: 'postgresql', sourceRef: { kind: 'HelmRepository', name: 'bitnami' } } },
    },
  });
}

/** The spec of an Application or Kustomization as the apiserver holds it. */
export async function specOf(cp: ControlPlane, path: string): Promise<Record<string, unknown>> {
  return (await cp.rest.get<{ spec: Record<string, unknown> }>(path)).spec;
}
