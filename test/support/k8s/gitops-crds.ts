import { ensureModuleCrds, type ModuleCrds } from './module-crds.ts';

/**
 * The GitOps CRDs the self-healing test controller reads (Argo CD's Application, Flux's Kustomization and
 * HelmRelease), each from the Go module of the project that publishes it, pinned. Argo CD 3.6 and
 * kustomize-controller 1.10 need Go 1.27, newer than the toolchain here; these are the newest served that build
 * with it (argo-cd v3.5.8's zip is about 54 MB, fetched in about 10 s).
 */
export const GITOPS_MODULES: ModuleCrds[] = [
  { module: 'github.com/argoproj/argo-cd/v3', version: 'v3.5.8', files: ['manifests/crds/application-crd.yaml'] },
  {
    module: 'github.com/fluxcd/kustomize-controller',
    version: 'v1.7.3',
    files: ['config/crd/bases/kustomize.toolkit.fluxcd.io_kustomizations.yaml'],
  },
  {
    module: 'github.com/fluxcd/helm-controller',
    version: 'v1.4.5',
    files: ['config/crd/bases/helm.toolkit.fluxcd.io_helmreleases.yaml'],
  },
];

/** The CRDs' names, to wait for them Established. */
export const GITOPS_CRDS = [
  'applications.argoproj.io',
  'kustomizations.kustomize.toolkit.fluxcd.io',
  'helmreleases.helm.toolkit.fluxcd.io',
];

/** The directory holding the three CRD files, fetched once per set of pins. */
export function ensureGitopsCrds(): Promise<string> {
  const key = GITOPS_MODULES.map((m) => `${m.module.split('/').slice(-2).join('-')}-${m.version}`)
    .join('_')
    .replace(/\//g, '-');
  return ensureModuleCrds('the Argo CD and Flux CRDs', 'gitops-crds', key, GITOPS_MODULES);
}
