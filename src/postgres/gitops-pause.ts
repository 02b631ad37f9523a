/**
 * The GitOps objects behind a workload's markers (an Argo CD Application, a Flux Kustomization or HelmRelease): what
 * each says of healing, and the merge patches that pause it and put it back exactly as it was. Pure.
 */
import type { Manager } from './gitops.ts';

export type OwnerKind = 'Application' | 'Kustomization' | 'HelmRelease';

/** Where one Application, Kustomization or HelmRelease is. */
export interface OwnerRef {
  apiVersion: string;
  kind: OwnerKind;
  namespace: string;
  name: string;
}

/** One object the plugin paused, with the exact value it changed, to put back. `prior` undefined: the field was absent. */
export interface PausedOwner extends OwnerRef {
  /** Argo CD: spec.syncPolicy.automated as it was; Flux: spec.suspend as it was. */
  prior?: unknown;
}

const API: Record<OwnerKind, string> = {
  Application: 'argoproj.io/v1alpha1',
  Kustomization: 'kustomize.toolkit.fluxcd.io/v1',
  HelmRelease: 'helm.toolkit.fluxcd.io/v2',
};

/** The object a manager names (Argo CD's Applications live in `argocd` unless the tracking id says otherwise), or undefined. */
export function ownerRefOf(m: Manager, workloadNs: string): OwnerRef | undefined {
  const kind =
    m.tool === 'Argo CD'
      ? 'Application'
      : m.tool === 'Flux'
        ? m.what.startsWith('HelmRelease')
          ? 'HelmRelease'
          : 'Kustomization'
        : undefined;
  if (!kind) return undefined;
  const namespace = m.namespace ?? (kind === 'Application' ? 'argocd' : workloadNs);
  return { apiVersion: API[kind], kind, namespace, name: m.name };
}

/** Every Argo CD and Flux object behind these managers, healing or not, each once: where the change must go in Git. */
export function gitopsOwners(managers: Manager[], workloadNs: string): OwnerRef[] {
  const out = new Map<string, OwnerRef>();
  for (const m of managers) {
    const ref = ownerRefOf(m, workloadNs);
    if (ref) out.set(ownerKey(ref), ref);
  }
  return [...out.values()];
}

/** The owners behind the healing managers, each once. */
export function healingOwners(managers: Manager[], workloadNs: string): OwnerRef[] {
  const out = new Map<string, OwnerRef>();
  for (const m of managers.filter((x) => x.heals)) {
    const ref = ownerRefOf(m, workloadNs);
    if (ref) out.set(ownerKey(ref), ref);
  }
  return [...out.values()];
}

export const ownerKey = (r: OwnerRef): string => `${r.kind} ${r.namespace}/${r.name}`;

export type Spec = {
  spec?: {
    suspend?: unknown;
    syncPolicy?: { automated?: { selfHeal?: unknown; enabled?: unknown; [k: string]: unknown } | null };
  };
};

/**
 * Whether the object, as read, heals drift now. Argo CD heals only with automated sync and `selfHeal: true` (and
 * not `enabled: false`); automated sync alone applies Git's changes but leaves a scale-down alone. Flux's
 * Kustomization and HelmRelease correct drift at every reconcile unless `spec.suspend` is true.
 */
export function ownerHeals(kind: OwnerKind, obj: Spec): { heals: boolean; why: string } {
  if (kind === 'Application') {
    const auto = obj.spec?.syncPolicy?.automated;
    if (!auto) return { heals: false, why: 'no automated sync' };
    if (auto.enabled === false) return { heals: false, why: 'automated sync disabled (enabled: false)' };
    return auto.selfHeal === true
      ? { heals: true, why: 'automated sync with selfHeal' }
      : { heals: false, why: 'automated sync without selfHeal: it does not undo drift' };
  }
  return obj.spec?.suspend === true
    ? { heals: false, why: 'suspended' }
    : { heals: true, why: 'not suspended: it corrects drift at every reconcile' };
}

/** The value the pause changes, as it is now (kept in the record before the pause, to put back). */
export function priorOf(ref: OwnerRef, obj: Spec): PausedOwner {
  const prior = ref.kind === 'Application' ? obj.spec?.syncPolicy?.automated : obj.spec?.suspend;
  return { ...ref, ...(prior === undefined || prior === null ? {} : { prior }) };
}

/** The merge patch that pauses it: Argo CD's automated sync removed, Flux suspended. */
export function pausePatch(ref: OwnerRef): object {
  return ref.kind === 'Application' ? { spec: { syncPolicy: { automated: null } } } : { spec: { suspend: true } };
}

/** The merge patch that puts the paused value back exactly (null removes a field that was absent). */
export function resumePatch(p: PausedOwner): object {
  const value = p.prior === undefined ? null : p.prior;
  return p.kind === 'Application' ? { spec: { syncPolicy: { automated: value } } } : { spec: { suspend: value } };
}

/** One line naming what is paused and how it comes back. */
export function describePause(p: OwnerRef): string {
  return p.kind === 'Application'
    ? `Argo CD Application ${p.namespace}/${p.name}: spec.syncPolicy.automated removed, put back as it was afterwards`
    : `Flux ${p.kind} ${p.namespace}/${p.name}: spec.suspend true, put back as it was afterwards`;
}

/** What a record's pausedOwners entry must be; a wrong one is refused rather than patched (records are no capabilities). */
export function isPausedOwner(v: unknown): v is PausedOwner {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  const kind = o.kind as OwnerKind;
  return (
    kind in API &&
    o.apiVersion === API[kind] &&
    typeof o.name === 'string' &&
    o.name.length > 0 &&
    typeof o.namespace === 'string' &&
    o.namespace.length > 0 &&
    (kind === 'Application'
      ? o.prior === undefined || (typeof o.prior === 'object' && o.prior !== null)
      : o.prior === undefined || typeof o.prior === 'boolean')
  );
}

/** What reading an owner gave: it heals or not (and why), or it could not be read (not found, forbidden, no CRD). */
export interface OwnerReading {
  ref: OwnerRef;
  heals?: boolean;
  why: string;
  obj?: Spec;
}

/**
 * The managers with what their objects say: one whose Application, Kustomization or HelmRelease was read and does
 * not heal no longer counts as healing; one that could not be read is judged by its markers, and says so.
 */
export function withReadings(managers: Manager[], readings: OwnerReading[], workloadNs: string): Manager[] {
  return managers.map((m) => {
    const ref = ownerRefOf(m, workloadNs);
    const r = ref && readings.find((x) => ownerKey(x.ref) === ownerKey(ref));
    if (!r) return m;
    if (r.heals === undefined) return { ...m, evidence: `${m.evidence}; ${r.why}: judged by its markers` };
    return { ...m, heals: r.heals, evidence: `${m.evidence}; ${ref.kind} read: ${r.why}` };
  });
}
