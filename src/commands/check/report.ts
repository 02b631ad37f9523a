import { formatBytes } from '../../k8s/quantity.ts';
import type { Finding } from '../../postgres/rules.ts';
import { refOf } from '../../postgres/workload.ts';
import type { Evidence } from '../../preflight/finding.ts';
import { plan } from '../../preflight/estimate.ts';
import { describeClients } from '../../discovery/clients.ts';

/** The `check -o json|yaml` document; its schema is docs/check-report.schema.json. */
export interface CheckReport {
  apiVersion: 'pgupgrade.kubectl.io/v1';
  kind: 'CheckReport';
  context: string;
  namespace: string;
  discovery: {
    workload: string;
    container: string;
    pod: string | null;
    reach: string;
    image: string;
    flavour: string;
    /** What in the pod showed the flavour. */
    layout: string;
    pgdata: string;
    version: { server: string | null; major: number | null; pgVersionFile: string | null; source: string };
    /** null: no volume at PGDATA (the data is in the container's writable layer; only --method dump gets this far). */
    pvc: {
      name: string;
      capacity: string | null;
      storageClass: string | null;
      csiDriver: string | null;
      accessModes: string[];
    } | null;
    runtime: { uid: number | null; gid: number | null; fsGroup: number | null; dataOwner: string | null };
    superuser: { user: string | null; secret: string | null };
    target: { major: number; method: string; image: string };
    applications: string[];
    clients: string[];
    /** Workloads, CronJobs and Jobs that run a PostgreSQL image as clients: not the database, each with why. */
    imageClients: string[];
  };
  initdbOptions: string[];
  estimate: { seconds: number; formula: string } | null;
  checks: Finding[];
  summary: { pass: number; warn: number; fail: number };
}

/** Assembles the report from the evidence and the findings. */
export function buildReport(e: Evidence, context: string, checks: Finding[]): CheckReport {
  const d = e.d;
  const p = plan(e);
  const v = e.volume;
  const count = (s: Finding['status']) => checks.filter((c) => c.status === s).length;
  return {
    apiVersion: 'pgupgrade.kubectl.io/v1',
    kind: 'CheckReport',
    context,
    namespace: d.namespace,
    discovery: {
      workload: refOf({ kind: d.workload.kind, name: d.workload.metadata.name }),
      container: d.container.name,
      pod: d.pod?.metadata.name ?? null,
      image: d.image,
      flavour: d.flavour,
      layout: d.layoutEvidence,
      reach: e.offline
        ? `probe pod ${e.offline.probe} (${e.offline.image}) on the stopped database's volume, deleted afterwards`
        : `exec into pod ${d.pod?.metadata.name}, psql over TCP to 127.0.0.1`,
      pgdata: e.server?.dataDirectory ?? d.pgdata,
      version: {
        server: e.server?.version ?? null,
        major: e.server ? Math.floor(e.server.versionNum / 10000) : null,
        pgVersionFile: v?.pgVersion ?? null,
        source: e.offline
          ? `PG_VERSION and pg_controldata in the probe${e.server ? '; the rest from the old server started there without TCP' : ''}`
          : e.server
            ? 'the live server (SQL); PG_VERSION from the volume'
            : 'not reached',
      },
      pvc: d.pvc
        ? {
            name: d.pvc.metadata.name,
            capacity: d.pvc.capacityBytes === undefined ? null : formatBytes(d.pvc.capacityBytes),
            storageClass: d.pvc.storageClassName ?? null,
            csiDriver: d.csiDriver ?? null,
            accessModes: d.pvc.accessModes,
          }
        : null,
      runtime: {
        uid: v?.uid ?? null,
        gid: v?.gid ?? null,
        fsGroup: d.fsGroup ?? null,
        dataOwner: v ? `${v.data.uid}:${v.data.gid}` : null,
      },
      superuser: {
        user: d.superuser?.user ?? null,
        secret: d.superuser?.secret ? `${d.superuser.secret.name}/${d.superuser.secret.key}` : null,
      },
      target: { major: e.to, method: e.method, image: e.targetImage },
      applications: d.apps.map((w) => `${refOf({ kind: w.kind, name: w.metadata.name })} (${w.replicas} replicas)`),
      clients: (e.server?.clients ?? []).map(
        (c) =>
          `${c.user ?? '?'}@${c.database ?? '?'} from ${c.address ? (d.podsByIp[c.address] ? `pod ${d.podsByIp[c.address]}` : c.address) : 'local socket'}${c.application ? ` (${c.application})` : ''}`,
      ),
      imageClients: describeClients(d.clients),
    },
    initdbOptions: p.initdb ?? [],
    estimate: p.estimate ?? null,
    checks,
    summary: { pass: count('pass'), warn: count('warn'), fail: count('fail') },
  };
}

const MARK: Record<Finding['status'], string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

/** The report for people. */
export function reportText(r: CheckReport): string {
  const d = r.discovery;
  const lines = [
    `Context ${r.context}, namespace ${r.namespace}`,
    `  workload      ${d.workload} (container ${d.container}, pod ${d.pod ?? 'none'})`,
    `  reached by    ${d.reach}`,
    `  image         ${d.image} (${d.flavour === 'vendor' ? "a vendor's image" : `${d.flavour} layout`}: ${d.layout})`,
    `  version       ${d.version.server ?? 'unknown'} (PG_VERSION ${d.version.pgVersionFile ?? '?'}; from ${d.version.source})`,
    `  data          ${d.pgdata} ${
      d.pvc
        ? `on PVC ${d.pvc.name} (${d.pvc.capacity ?? '?'}, StorageClass ${d.pvc.storageClass ?? 'none'}, driver ${d.pvc.csiDriver ?? '?'})`
        : "in the container's writable layer: no volume, lost on any restart or reschedule"
    }`,
    `  runs as       ${d.runtime.uid ?? '?'}:${d.runtime.gid ?? '?'}${d.runtime.fsGroup !== null ? ` fsGroup ${d.runtime.fsGroup}` : ''}; data owned by ${d.runtime.dataOwner ?? '?'}`,
    `  superuser     ${d.superuser.user ?? '?'} (password from Secret ${d.superuser.secret ?? '?'}, not shown)`,
    `  target        PostgreSQL ${d.target.major} by ${d.target.method}, image ${d.target.image}`,
    `  applications  ${d.applications.length ? d.applications.join(', ') : 'none matched the selector'}`,
    `  connections   ${d.clients.length ? d.clients.join(', ') : 'none'}`,
    ...(d.imageClients.length ? [`  not the db    ${d.imageClients.join('; ')}`] : []),
    '',
    ...r.checks.flatMap((c) => [
      `${MARK[c.status]}  ${c.title}: ${c.found}`,
      ...(c.fix && c.status !== 'pass' ? [`      fix: ${c.fix}`] : []),
    ]),
    '',
  ];
  if (r.initdbOptions.length) lines.push(`initdb options for the new cluster: ${r.initdbOptions.join(' ')}`);
  if (r.estimate) lines.push(`estimated downtime: about ${r.estimate.seconds} s (${r.estimate.formula})`);
  lines.push(
    `${r.summary.pass} passed, ${r.summary.warn} warnings, ${r.summary.fail} failed${r.summary.fail ? ': the upgrade would stop here (exit 3)' : ''}`,
  );
  return lines.join('\n');
}
