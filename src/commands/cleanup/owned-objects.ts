import type { KObject } from '../../k8s/cluster.ts';
import { cleanupJobName, rollbackJobName } from '../../manifests/upgrade-job.ts';
import { OWNED_LABELS } from '../../manifests/probe-pod.ts';
import { derivedName } from '../../manifests/snapshot.ts';
import { isFingerprintPart } from '../../fingerprint/store.ts';
import { upgradeNames } from '../../state/state.ts';
import type { CleanupItem, CleanupPlan, Found, Recorded } from './plan.ts';

const ROLE = 'pgupgrade.kubectl.io/role';
const MANAGED_BY = 'app.kubernetes.io/managed-by';
const PROBE_ROLES = ['check-probe', 'snapshot-probe', 'snapshot-reference', 'snapshot-verify'];

/**
 * The look-alike rule: an object is the upgrade's only when it carries the plugin's labels with the expected role
 * AND its name is one that the record names (or, for what has a random name, it points at what the record names).
 * A name, or the labels, alone are never enough. Pure.
 */
export function isOurs(o: { metadata: { labels?: Record<string, string> } }, role: string | string[]): boolean {
  const l = o.metadata.labels ?? {};
  return l[MANAGED_BY] === OWNED_LABELS[MANAGED_BY] && (Array.isArray(role) ? role : [role]).includes(l[ROLE] ?? '');
}

const finished = (j: KObject) =>
  (j.status?.succeeded ?? 0) > 0 ||
  (j.status?.failed ?? 0) > 0 ||
  ((j.status?.conditions ?? []) as Array<{ type: string; status: string }>).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
export const item = (kind: CleanupItem['kind'], name: string, why: string): CleanupItem => ({ kind, name, why });

/** The further parts of the fingerprint kept in ConfigMap `name` (src/fingerprint/store.ts), as items, by name. */
export function fingerprintPartItems(configMaps: KObject[], name: string): CleanupItem[] {
  return configMaps
    .filter(
      (c) =>
        isFingerprintPart(c.metadata.name, name) &&
        c.metadata.annotations?.['pgupgrade.kubectl.io/fingerprint-part-of'] === name,
    )
    .map((c) => item('ConfigMap', c.metadata.name, `a part of the fingerprint in ${name}`))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The upgrade's Jobs: the finished ones removed, the running ones kept; returns the names of those removed. */
export function jobItems(r: Recorded, f: Found, plan: CleanupPlan): string[] {
  const s = r.state;
  const expected: Array<[string, string, string]> = [
    [s.job, 'upgrade-job', 'the upgrade Job'],
    [rollbackJobName(s.jobSpec), 'rollback-job', 'a rollback Job'],
    [cleanupJobName(s.jobSpec), 'cleanup-job', 'an earlier cleanup Job'],
  ];
  const names: string[] = [];
  for (const [name, role, what] of expected) {
    const j = f.jobs.find((x) => x.metadata.name === name && isOurs(x, role));
    if (!j) continue;
    if (!finished(j)) plan.keep.push(item('Job', name, `${what}, still running`));
    else {
      plan.remove.push(item('Job', name, `${what}, finished`));
      names.push(name);
    }
  }
  return names;
}

/** The pods of the removed Jobs, and the workload's probe pods: removed once ended, kept while they run. */
export function podItems(r: Recorded, f: Found, jobs: string[], pvcs: string[], plan: CleanupPlan): void {
  const workload = `${r.state.workload.kind}/${r.state.workload.name}`;
  for (const p of f.pods) {
    const job = p.metadata.labels?.['job-name'] ?? '';
    if (jobs.includes(job) && isOurs(p, ['upgrade-job', 'rollback-job', 'cleanup-job'])) {
      plan.remove.push(item('Pod', p.metadata.name, `pod of Job ${job}`));
      continue;
    }
    const claims = (p.spec.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName);
    const mine =
      isOurs(p, PROBE_ROLES) &&
      p.metadata.annotations?.['pgupgrade.kubectl.io/workload'] === workload &&
      claims.some((c) => c === r.state.pvc || (c !== undefined && pvcs.includes(c)));
    if (!mine) continue;
    if (p.phase === 'Succeeded' || p.phase === 'Failed')
      plan.remove.push(item('Pod', p.metadata.name, `a probe pod of ${workload}, ended`));
    else
      plan.keep.push(
        item(
          'Pod',
          p.metadata.name,
          `a probe pod of ${workload}, still ${p.phase} (a check or snapshot may be using it)`,
        ),
      );
  }
}

/** The copies restored from the snapshot to read the reference, left behind; returns their names. */
export function pvcItems(r: Recorded, f: Found, plan: CleanupPlan): string[] {
  const snap = r.state.snapshot;
  if (!snap) return [];
  const left = f.pvcs.filter(
    (p) =>
      p.metadata.name !== r.state.pvc &&
      isOurs(p, 'snapshot-reference') &&
      p.spec?.dataSource?.name === snap &&
      p.metadata.name.startsWith(derivedName(snap, 'reference-')),
  );
  for (const p of left)
    plan.remove.push(
      item(
        'PersistentVolumeClaim',
        p.metadata.name,
        `a copy restored from snapshot ${snap} to read the reference, left behind`,
      ),
    );
  return left.map((p) => p.metadata.name);
}

/** The snapshot taken before the upgrade and its fingerprint: removed, or kept with --keep-snapshots. */
export function snapshotItems(r: Recorded, f: Found, keepSnapshots: boolean, plan: CleanupPlan): void {
  const snap = r.state.snapshot;
  if (!snap) return;
  const v = f.snapshots.find(
    (x) =>
      x.metadata.name === snap &&
      isOurs(x, 'snapshot') &&
      x.metadata.annotations?.['pgupgrade.kubectl.io/pvc'] === r.state.pvc,
  );
  const fpName = derivedName(snap, 'fingerprint');
  const fp = f.configMaps.find(
    (c) =>
      c.metadata.name === fpName &&
      isOurs(c, 'fingerprint') &&
      c.metadata.annotations?.['pgupgrade.kubectl.io/snapshot'] === snap,
  );
  const to = keepSnapshots ? plan.keep : plan.remove;
  const why = keepSnapshots ? ' (--keep-snapshots)' : '';
  if (v) to.push(item('VolumeSnapshot', snap, `the snapshot taken before the upgrade${why}`));
  if (fp)
    to.push(
      item('ConfigMap', fpName, `the fingerprint of snapshot ${snap}${why}`),
      ...fingerprintPartItems(f.configMaps, fpName),
    );
}

/** The reference fingerprint, the last rehearsal's outcome and the record of the upgrade, last. */
export function recordItems(r: Recorded, f: Found, plan: CleanupPlan): void {
  const workload = `${r.state.workload.kind}/${r.state.workload.name}`;
  const ref = f.configMaps.find(
    (c) =>
      c.metadata.name === r.state.fingerprintConfigMap &&
      isOurs(c, 'fingerprint') &&
      c.metadata.annotations?.['pgupgrade.kubectl.io/workload'] === workload,
  );
  if (ref)
    plan.remove.push(
      item('ConfigMap', ref.metadata.name, 'the reference fingerprint of the upgrade'),
      ...fingerprintPartItems(f.configMaps, ref.metadata.name),
    );
  const rehearsal = f.configMaps.find(
    (c) =>
      c.metadata.name === upgradeNames(r.state.workload.name, r.state.to).rehearsal &&
      isOurs(c, 'rehearsal') &&
      c.metadata.annotations?.['pgupgrade.kubectl.io/workload'] === workload,
  );
  if (rehearsal)
    plan.remove.push(
      item('ConfigMap', rehearsal.metadata.name, 'the outcome of the last rehearsal (upgrade --rehearse)'),
    );
  const st = f.configMaps.find((c) => c.metadata.name === r.stateName && isOurs(c, 'upgrade-state'));
  if (st) plan.remove.push(item('ConfigMap', st.metadata.name, 'the record of the upgrade, last'));
}
