import { managedBy } from './managed-by.ts';
import type { OwnerReading } from '../postgres/gitops-pause.ts';
import { bitnamiTargetNote } from '../postgres/images.ts';
import type { DatabaseFacts, ServerFacts } from '../postgres/facts.ts';
import type { ControlData, VolumeFacts } from '../postgres/volume-facts.ts';
import { initdbOptions, verifyExtensions, verifyLocales, verifyPasswords, type Finding } from '../postgres/rules.ts';
import { estimateDowntime, type WorkloadWaits } from '../postgres/downtime.ts';
import { verifyPgUpgradeRules } from '../postgres/rules-pg-upgrade.ts';
import type { Workload } from '../k8s/cluster.ts';
import { relayoutFor, relayoutNote } from '../postgres/relayout.ts';
import { verifyTypeRules } from '../postgres/rules-types.ts';
import { dumpSourceFindings } from '../postgres/dump-source.ts';
import { verifyLoadCode } from '../postgres/load-code.ts';
import { verifyConfigPaths } from '../postgres/config-paths.ts';
import { verifyTablespaces } from '../postgres/tablespaces.ts';
import { verifyLibcFamily } from '../postgres/libc.ts';
import { enforcedLevel, verifyJobIdentity, verifyLeftovers, verifySpace } from '../postgres/rules-volume.ts';
import { majorOf, type Method } from '../postgres/versions.ts';
import { describePermissions } from '../rbac.ts';
import type { Permission } from '../rbac-rules.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';

/** Everything check learnt, ready to be judged. */
export interface Evidence {
  d: SourceDiscovery;
  to: number;
  method: Method;
  targetImage: string;
  /** The image the workload will run after the upgrade (--image, else the default for its repository); undefined: unknown. */
  serverImage?: string;
  targetIsStock: boolean;
  access: Array<{ permission: Permission; allowed: boolean }>;
  snapshotDrivers?: string[];
  server?: ServerFacts;
  databases?: Map<string, DatabaseFacts>;
  credentialsError?: string;
  /** --method dump: pg_hba.conf refuses the superuser over the pod's address (the load's way in). */
  remoteLoginError?: string;
  /** The Argo CD/Flux objects behind the markers, as read (check judges them as upgrade does). */
  ownerReadings?: OwnerReading[];
  volume?: VolumeFacts;
  pathProblem?: string;
  /** No published image carries both majors, and none was named. */
  imageProblem?: string;
  /** The image the workload will run (upgrade's --image); undefined: the default for its repository. */
  workloadImage?: string;
  /** Offline: the database is stopped and a probe pod read its volume. */
  offline?: {
    probe: string;
    image: string;
    controlData?: ControlData;
    serverError?: string;
    pgUpgradeCheck?: { ok: boolean; output: string };
  };
}

const f = (id: string, title: string, status: Finding['status'], found: string, fix?: string): Finding => ({
  id,
  title,
  status,
  found,
  ...(fix ? { fix } : {}),
});

/** Access: every permission the chosen method needs, by SelfSubjectAccessReview. */
export function verifyAccess(e: Evidence): Finding {
  const missing = e.access.filter((a) => !a.allowed).map((a) => a.permission);
  const need = describePermissions(e.access.map((a) => a.permission)).length;
  if (missing.length === 0)
    return f(
      'access',
      'Access to everything the upgrade needs',
      'pass',
      `${need} permissions granted for --method ${e.method}`,
    );
  return f(
    'access',
    'Access to everything the upgrade needs',
    'fail',
    `missing in namespace ${e.d.namespace}: ${describePermissions(missing).join(', ')}`,
    'ask your cluster admin for a Role with these verbs (docs/rbac.md lists a Role for every command)',
  );
}

/** Snapshot readiness: a VolumeSnapshotClass for the PVC's CSI driver. */
export function verifySnapshots(e: Evidence): Finding {
  const driver = e.d.csiDriver;
  if (e.snapshotDrivers === undefined)
    return f(
      'snapshot',
      'Snapshots are possible',
      'warn',
      'the VolumeSnapshot API is not installed in this cluster',
      'install the external-snapshotter CRDs and controller, or take a backup yourself and pass --no-snapshot to upgrade',
    );
  if (driver && e.snapshotDrivers.includes(driver))
    return f('snapshot', 'Snapshots are possible', 'pass', `a VolumeSnapshotClass exists for ${driver}`);
  return f(
    'snapshot',
    'Snapshots are possible',
    'warn',
    `no VolumeSnapshotClass for the PVC's driver ${driver ?? '(no StorageClass)'}`,
    "create a VolumeSnapshotClass for that driver, or back up with pg_dump / your cloud's disk snapshot and pass --no-snapshot to upgrade",
  );
}

/** Pods besides the database's that mount its PVC, and tools that would revert an image patch. */
export function verifyVolumeUsers(e: Evidence): Finding[] {
  const users = e.d.volumeUsers;
  const out = [
    users.length
      ? f(
          'volume-users',
          'Only the database mounts its volume',
          'fail',
          `pods mounting PVC ${e.d.pvc?.metadata.name}: ${users.join(', ')}`,
          'delete or scale down those pods; the upgrade cannot detach the volume while they run',
        )
      : f(
          'volume-users',
          'Only the database mounts its volume',
          'pass',
          `only ${e.d.pod?.metadata.name ?? 'the database pod'}`,
        ),
  ];
  out.push(managedBy(e, e.ownerReadings));
  return out;
}

/** What pg_controldata says of the stopped cluster. */
export function verifyControlData(e: Evidence): Finding[] {
  const cd = e.offline?.controlData;
  if (!cd) return [];
  return [
    cd.cleanShutdown
      ? f(
          'shutdown',
          'The cluster was shut down cleanly',
          'pass',
          `pg_controldata: "${cd.state}", catalog ${cd.catalogVersion}, checksums ${cd.checksums ? 'on' : 'off'}, WAL segments ${cd.walSegmentBytes / 2 ** 20} MiB`,
        )
      : f(
          'shutdown',
          'The cluster was shut down cleanly',
          e.offline?.serverError ? 'fail' : 'warn',
          `pg_controldata: "${cd.state}" when check started; pg_upgrade needs a clean shutdown${e.offline?.serverError ? '' : ", which check's own start and stop of the old server gave it"}`,
          'start the database normally once and stop it with a fast shutdown (scale to 0 waits for it)',
        ),
  ];
}

/** pg_upgrade's own --check: run in the probe when the database is stopped; a live server's socket is out of reach. */
export function verifyPgUpgradeCheck(e: Evidence): Finding {
  const title = 'pg_upgrade --check';
  if (e.method === 'dump')
    return f('pg-upgrade-check', title, 'pass', 'not needed: --method dump does not use pg_upgrade');
  const r = e.offline?.pgUpgradeCheck;
  if (r?.ok)
    return f(
      'pg-upgrade-check',
      title,
      'pass',
      `pg_upgrade ${e.to} --check passed against the stopped cluster in probe pod ${e.offline?.probe} (${e.offline?.image})`,
    );
  if (r)
    return f(
      'pg-upgrade-check',
      title,
      'fail',
      r.output
        .split('\n')
        .filter((l) => l.trim())
        .slice(-25)
        .join(' | '),
      'fix what pg_upgrade names above (its report files are printed after "==") and run check again',
    );
  if (e.offline)
    return f(
      'pg-upgrade-check',
      title,
      'warn',
      'not run: the old server could not be read, so the initdb options are unknown',
      'pass --initdb-encoding, --initdb-lc-collate and --initdb-lc-ctype',
    );
  return f(
    'pg-upgrade-check',
    title,
    'warn',
    "not run against the live server: pg_upgrade insists on the server's Unix socket, which only the database container can reach; the SQL checks above cover what it refuses, and the upgrade Job runs it before it touches any data",
    'to run it now, scale the database to 0 and run check again: a probe pod then runs pg_upgrade --check against the volume',
  );
}

/** A Bitnami source's default target is frozen (bitnamilegacy), or does not exist: a warning with the ways out. */
export function verifyTargetImage(e: Evidence): Finding[] {
  const n = e.workloadImage === undefined ? bitnamiTargetNote(e.d.image, e.to) : undefined;
  return n ? [f('target-image', 'The target image exists and gets updates', 'warn', n.note, n.fix)] : [];
}

/** PGDATA at the root of its volume: the upgrade moves the cluster into a directory of its own (a WARN that says how). */
export function verifyLayout(e: Evidence, r: ReturnType<typeof relayoutFor>): Finding[] {
  if (r === undefined) return [];
  if (r === 'bitnami') {
    return [
      f(
        'layout',
        'PGDATA has a directory of its own',
        'fail',
        `POSTGRESQL_DATA_DIR ${e.d.pgdata} is the root of the volume, which Bitnami's scripts cannot have moved`,
        `set POSTGRESQL_DATA_DIR to a subdirectory (e.g. ${e.d.mountPath}/data) first, or use --method dump`,
      ),
    ];
  }
  return [
    f(
      'layout',
      'PGDATA has a directory of its own',
      'warn',
      relayoutNote(r),
      'nothing to do; with --no-patch-workload, make the same change to the workload yourself (the upgrade prints it)',
    ),
  ];
}

/** Where the superuser's password was read: the Secret and key, and how they reach the container. */
const passwordSource = (e: Evidence) => {
  const su = e.d.superuser;
  const secret = su?.secret ? `Secret ${su.secret.name} (key ${su.secret.key})` : undefined;
  return (
    [secret, su?.via && su.via !== `env ${su.env} (secretKeyRef)` ? su.via : undefined]
      .filter(Boolean)
      .join(', from ') || 'its source'
  );
};

/** The old and the new image's C library against the collations that order text (Alpine's musl vs glibc). */
export function verifyLibc(e: Evidence): Finding[] {
  if (!e.server || !e.databases || !e.serverImage) return [];
  return [
    verifyLibcFamily({
      oldImage: e.d.image,
      newImage: e.serverImage,
      to: e.to,
      method: e.method,
      bitnamiLayout: e.d.flavour === 'bitnami',
      databases: e.server.databases,
      facts: e.databases,
    }),
  ];
}

/** All findings, in the report's order. */
export function evaluate(e: Evidence): Finding[] {
  const out: Finding[] = [verifyAccess(e)];
  const relayout = e.d.mountPath === undefined ? undefined : relayoutFor({ ...e.d, mountPath: e.d.mountPath }, e.to);
  out.push(
    e.pathProblem
      ? f('upgrade-path', 'Upgrade path is supported', 'fail', e.pathProblem, 'choose --to from the supported majors')
      : e.imageProblem
        ? f(
            'upgrade-path',
            'Upgrade path is supported',
            'fail',
            e.imageProblem,
            'go in two steps, or name an image: --image for check, --job-image for upgrade',
          )
        : f(
            'upgrade-path',
            'Upgrade path is supported',
            'pass',
            `${e.server ? majorOf(String(e.server.versionNum)) : 'unknown'} → ${e.to} with ${e.method}, image ${e.targetImage}`,
          ),
  );
  out.push(...verifyTargetImage(e), ...verifyLayout(e, relayout));
  if (e.method === 'dump') {
    out.push(
      ...dumpSourceFindings({
        where: `${e.d.workload.kind} ${e.d.namespace}/${e.d.workload.metadata.name}`,
        pgdata: e.d.pgdata,
        hasVolume: !!e.d.pvc,
        inlinePassword: e.d.superuser?.literal ? e.d.superuser.env : undefined,
      }),
      ...verifyLoadCode(e.databases),
    );
  }
  if (e.offline && (!e.server || !e.databases)) {
    out.push(
      f(
        'server-facts',
        'The stopped server could be read',
        'fail',
        `PostgreSQL did not start in probe pod ${e.offline.probe}: ${e.offline.serverError ?? 'unknown error'}`,
        'find why from the message (a crash-looping server fails the same way), fix it, and run check again; --initdb-encoding, --initdb-lc-collate and --initdb-lc-ctype let pg_upgrade --check run meanwhile',
      ),
    );
  } else if (e.offline && e.server && e.databases) {
    out.push(
      f(
        'credentials',
        'The superuser can connect',
        'warn',
        `not tried: the database is stopped, and check read it through the probe's own socket; the password in Secret ${e.d.superuser?.secret?.name ?? '?'} is tried when the database runs`,
      ),
    );
  }
  if (e.offline) {
    out.push(...verifyControlData(e));
  } else if (e.credentialsError !== undefined || !e.server || !e.databases) {
    out.push(
      f(
        'credentials',
        'The superuser can connect',
        'fail',
        e.credentialsError ?? 'not tried',
        `check that ${passwordSource(e)} holds ${e.d.superuser?.user}'s current password, ` +
          'or pass --superuser-secret <secret>/<key> naming the one that does',
      ),
    );
  } else {
    out.push(
      f(
        'credentials',
        'The superuser can connect',
        'pass',
        `${e.d.superuser?.user} with the password from ${passwordSource(e)}`,
      ),
    );
  }
  if (e.remoteLoginError) {
    out.push(
      f(
        'remote-login',
        "The superuser can log in over the pod's address (the dump's load connects so, from the new instance's pod)",
        'fail',
        e.remoteLoginError,
        `let ${e.d.superuser?.user} in from the cluster's pod network in pg_hba.conf of ${e.d.namespace}/${e.d.pod?.metadata.name} (a host line with scram-sha-256 or md5 ` +
          'before any reject line, then SELECT pg_reload_conf()), or upgrade in place',
      ),
    );
  }
  if (e.server && e.databases) {
    const from = majorOf(String(e.server.versionNum));
    const input = {
      from,
      to: e.to,
      method: e.method,
      server: e.server,
      databases: e.databases,
      targetIsStock: e.targetIsStock,
    };
    out.push(
      verifyLocales(input),
      ...verifyLibc(e),
      verifyExtensions(input),
      verifyPasswords(input),
      ...verifyPgUpgradeRules(input),
      ...verifyTypeRules(input),
      ...verifyConfigPaths(e.server.configPaths, e.method, e.server.dataDirectory),
      ...verifyTablespaces(e.server.tablespaces, e.method, e.server.dataDirectory, e.d.mountPath),
    );
  }
  if (e.volume) {
    out.push(verifySpace(e.volume, e.method, e.d.pvc?.capacityBytes, e.volume.reflink));
    // PGDATA at the volume's root: the Job makes its directories inside it (relayout.ts), not in its parent.
    const inside = typeof relayout === 'object';
    const pgdata = e.server?.dataDirectory ?? e.d.pgdata;
    out.push(
      verifyJobIdentity(
        inside ? { ...e.volume, parent: e.volume.data } : e.volume,
        enforcedLevel(e.d.namespaceLabels),
        inside ? `${pgdata}/${e.to}/docker` : pgdata,
        e.d.fsGroup,
      ),
    );
  }
  out.push(verifyPgUpgradeCheck(e), verifySnapshots(e), ...verifyVolumeUsers(e));
  if (e.volume) {
    const annotations = Object.keys(e.d.workload.metadata.annotations ?? {}).filter((k) => k.startsWith('pgupgrade.'));
    out.push(verifyLeftovers(e.volume, e.server?.dataDirectory ?? e.d.pgdata, annotations));
  }
  return out;
}

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
