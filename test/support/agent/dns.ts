/** The parts of a Pod that name resolution needs. */
export interface PodView {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ip?: string;
  ready: boolean;
  terminating: boolean;
  hostname?: string;
  subdomain?: string;
}

/** The parts of a Service that name resolution needs. */
export interface ServiceView {
  name: string;
  namespace: string;
  selector?: Record<string, string>;
}

/** Does a label selector (matchLabels form, as Services use) select these labels? */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The ready, non-terminating pods behind a Service, by name: what its Endpoints would hold. */
export function endpointsOf(svc: ServiceView, pods: PodView[]): PodView[] {
  return pods
    .filter(
      (p) => p.namespace === svc.namespace && p.ip && p.ready && !p.terminating && selects(svc.selector, p.labels),
    )
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The hosts entries that a pod in `namespace` sees, as cluster DNS would answer: `<svc>` (same namespace only),
 * `<svc>.<ns>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.cluster.local` to the Service's first ready endpoint, and
 * `<hostname>.<subdomain>.<ns>.svc.cluster.local` for StatefulSet-style pods. ClusterIPs are not routed here,
 * so names map straight to pod IPs; a Service whose port differs from its targetPort is therefore not modelled.
 */
export function hostEntries(namespace: string, self: PodView | undefined, services: ServiceView[], pods: PodView[]) {
  const entries: Array<{ ip: string; names: string[] }> = [];
  if (self?.ip) entries.push({ ip: self.ip, names: [self.hostname ?? self.name] });
  for (const svc of [...services].sort((a, b) => a.name.localeCompare(b.name))) {
    const eps = endpointsOf(svc, pods);
    const first = eps[0];
    if (first?.ip) {
      const fq = `${svc.name}.${svc.namespace}`;
      const names = [`${fq}.svc.cluster.local`, `${fq}.svc`, fq];
      if (svc.namespace === namespace) names.push(svc.name);
      entries.push({ ip: first.ip, names });
    }
    for (const p of eps) {
      if (p.subdomain === svc.name && p.ip) {
        const host = p.hostname ?? p.name;
        entries.push({
          ip: p.ip,
          names: [`${host}.${svc.name}.${svc.namespace}.svc.cluster.local`, `${host}.${svc.name}.${svc.namespace}`],
        });
      }
    }
  }
  return entries;
}
