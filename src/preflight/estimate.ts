// What check estimates of the upgrade: the downtime, and the initdb options.
import { initdbOptions } from '../postgres/rules.ts';
import { estimateDowntime, type WorkloadWaits } from '../postgres/downtime.ts';
import type { Workload } from '../k8s/cluster.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import type { Evidence } from './finding.ts';

/**
 * What this workload's own specs add to the downtime: an application that ignores SIGTERM is killed only after
 * its grace period (Kubernetes' default is 30 s), and each readiness probe waits its initial delay and one period
 * (default 10 s) before the pod counts as ready: the database's first, then the applications' (the slowest).
 */
export function workloadWaits(d: SourceDiscovery): WorkloadWaits {
  const wait = (w: Workload) =>
    Math.max(
      0,
      ...w.template.spec.containers.map((c) =>
        c.readinessProbe ? (c.readinessProbe.initialDelaySeconds ?? 0) + (c.readinessProbe.periodSeconds ?? 10) : 0,
      ),
    );
  return {
    appGraceSeconds: Math.max(0, ...d.apps.map((a) => a.template.spec.terminationGracePeriodSeconds ?? 30)),
    readinessSeconds: wait(d.workload) + Math.max(0, ...d.apps.map(wait)),
  };
}

/** The downtime estimate and the initdb options, when the server answered. */
export function plan(e: Evidence): { initdb?: string[]; estimate?: { seconds: number; formula: string } } {
  if (!e.server || !e.databases) return {};
  const relations = [...e.databases.values()].reduce((n, db) => n + db.relations, 0);
  const bytes = e.volume?.dataBytes ?? e.server.databases.reduce((n, db) => n + db.sizeBytes, 0);
  return {
    initdb: initdbOptions(e.server, e.to),
    estimate: estimateDowntime(e.method, bytes, relations, workloadWaits(e.d)),
  };
}
