// docs/rbac.md, made from the RBAC table of src/rbac.ts, so that the page, the krew caveats and what the commands
// ask the apiserver for never disagree. `node scripts/docs.ts` writes it; a unit test holds the committed page equal.
import { dump } from 'js-yaml';
import { cleanupPermissions, permissionsForMethod, PERMISSIONS } from '../../src/rbac.ts';
import type { Permission } from '../../src/rbac-rules.ts';

export const RBAC_DOC = 'docs/rbac.md';

/** Why each command needs what it needs, for people; the permissions themselves come from src/rbac.ts. */
const WHY: Record<string, string> = {
  check:
    'finds the workload, its pods, data PVC and Secret; reads the server through `exec` (psql in the database ' +
    'pod: exec over WebSocket is authorised as `get`, and Kubernetes 1.35 also asks for `create`); reads a ' +
    "crash-looping pod's log; starts and deletes the probe pod of a stopped database; names the CronJobs and Jobs on " +
    "a PostgreSQL image as clients (without `list` on them it names none); reads the namespace's Pod Security label " +
    '(without it the level is unknown), the StorageClass and the VolumeSnapshotClasses. Its access check also asks ' +
    'the apiserver for everything the chosen upgrade method will need (below), before any downtime.',
  snapshot:
    'what check reads, plus the VolumeSnapshot and the ConfigMap that keeps its fingerprint; the probe pod of ' +
    "a stopped database and `--verify`'s restored PVC and pod.",
  upgrade:
    'what check reads, plus: scale and patch the workloads, the upgrade Job and its log, the snapshot, the ' +
    'record and the reference fingerprint (ConfigMaps), the Secret that keeps the key sealing the records, the Lease ' +
    'that keeps two runs off one upgrade, the VolumeAttachments (to see the volume detached), and for `--rollback` ' +
    'from the snapshot the data PVC re-created and its PersistentVolume set to `Retain`; `--rehearse` deletes its ' +
    'own snapshot. `--method dump` also creates the new instance (its PVC, workload, Service) and patches the ' +
    'Services that lead to the source (the cutover).',
  validate:
    'what check reads to reach the server, the record and the reference fingerprint (ConfigMaps), the ' +
    "upgrade's Jobs; `patch` on ConfigMaps sets `validated-at` on the record when every check passes.",
  cleanup:
    'the Job that removes the old cluster on the volume and its log, a look at the volume from the database ' +
    "pod, the deletes of what the upgrade made, and the upgrade's Lease while it removes. After an upgrade by dump " +
    'it also deletes an instance (the old one when named, or after a rollback the new one with its Service and the ' +
    'superuser Secret it made, whose metadata only is read). It asks the apiserver for exactly these before its ' +
    'first removal (the dump ones only after an upgrade by dump; not with `--dry-run`, which only reads).',
};

const resourceOf = (p: Permission) =>
  (p.group ? `${p.group}/` : '') + p.resource + (p.subresource ? `/${p.subresource}` : '');

/** One row per resource, its verbs in the table's order; namespaced rows first. */
function table(perms: Permission[]): string[] {
  const rows = new Map<string, { verbs: string[]; cluster: boolean }>();
  for (const p of perms) {
    const key = resourceOf(p);
    const row = rows.get(key) ?? { verbs: [], cluster: Boolean(p.clusterScoped) };
    if (!row.verbs.includes(p.verb)) row.verbs.push(p.verb);
    rows.set(key, row);
  }
  const sorted = [...rows].sort(([, a], [, b]) => Number(a.cluster) - Number(b.cluster));
  return [
    '| resource | verbs | scope |',
    '| --- | --- | --- |',
    ...sorted.map(([res, r]) => `| \`${res}\` | ${r.verbs.join(', ')} | ${r.cluster ? 'cluster' : 'namespace'} |`),
  ];
}

/** The permissions in `more` that `base` lacks. */
function extra(more: Permission[], base: Permission[]): Permission[] {
  const have = new Set(base.map((p) => `${p.verb} ${resourceOf(p)}`));
  return more.filter((p) => !have.has(`${p.verb} ${resourceOf(p)}`));
}

/** A Role and a ClusterRole that allow every command, as kubectl applies them. */
function roles(): string {
  const all = Object.values(PERMISSIONS).flat();
  const rules = (cluster: boolean) => {
    const byRes = new Map<string, { apiGroups: string[]; resources: string[]; verbs: string[] }>();
    for (const p of all.filter((x) => Boolean(x.clusterScoped) === cluster)) {
      const res = p.resource + (p.subresource ? `/${p.subresource}` : '');
      const key = `${p.group} ${res}`;
      const r = byRes.get(key) ?? { apiGroups: [p.group], resources: [res], verbs: [] };
      if (!r.verbs.includes(p.verb)) r.verbs.push(p.verb);
      byRes.set(key, r);
    }
    return [...byRes.values()];
  };
  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'kubectl-pgupgrade', namespace: '<namespace>' },
    rules: rules(false),
  };
  const cluster = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kubectl-pgupgrade' },
    rules: rules(true),
  };
  return [dump(role, { lineWidth: 120, flowLevel: 3 }), dump(cluster, { lineWidth: 120, flowLevel: 3 })].join('---\n');
}

/** The whole page. */
export function rbacDoc(): string {
  const out = [
    '<!-- generated by `node scripts/docs.ts` from src/rbac.ts; do not edit by hand -->',
    '# RBAC',
    '',
    "Each command's permissions live in one table in the source, from which this page and the krew caveats are " +
      'generated, and `check` and `cleanup` ask the apiserver (SelfSubjectAccessReview) for exactly these before ' +
      'they change anything, so an upgrade never stops halfway on a 403.',
    '',
    '`version` reads `/version`, which every authenticated user may (`system:public-info-viewer`); `completion` ' +
      'talks to no cluster.',
  ];
  const section = (title: string, why: string, perms: Permission[], more: string[] = []) =>
    out.push('', `## ${title}`, '', `What for: ${why}`, '', ...table(perms), ...more);
  section('`check`', WHY.check as string, PERMISSIONS.check ?? []);
  section('`snapshot`', WHY.snapshot as string, PERMISSIONS.snapshot ?? []);
  const inPlace = permissionsForMethod('link');
  section('`upgrade`', WHY.upgrade as string, inPlace, [
    '',
    '`--method dump` needs these besides:',
    '',
    ...table(extra(permissionsForMethod('dump'), inPlace)),
  ]);
  section('`validate`', WHY.validate as string, PERMISSIONS.validate ?? []);
  section('`cleanup`', WHY.cleanup as string, cleanupPermissions(false), [
    '',
    'After an upgrade by dump, besides:',
    '',
    ...table(extra(cleanupPermissions(true), cleanupPermissions(false))),
  ]);
  out.push(
    '',
    '## A Role for every command',
    '',
    "Bind the Role in the database's namespace and the ClusterRole (cluster-scoped objects) to the user " +
      'or service account that runs the plugin:',
    '',
    '```yaml',
    roles().trimEnd(),
    '```',
    '',
  );
  return out.join('\n');
}
