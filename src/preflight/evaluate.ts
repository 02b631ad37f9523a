// Judges what check learnt: every finding, in the report's order.
import { verifyExtensions, verifyLocales, verifyPasswords, type Finding } from '../postgres/rules.ts';
import { verifyPgUpgradeRules } from '../postgres/rules-pg-upgrade.ts';
import { relayoutFor } from '../postgres/relayout.ts';
import { verifyTypeRules } from '../postgres/rules-types.ts';
import { dumpSourceFindings } from '../postgres/dump-source.ts';
import { verifyLoadCode } from '../postgres/load-code.ts';
import { verifyConfigPaths } from '../postgres/config-paths.ts';
import { verifyTablespaces } from '../postgres/tablespaces.ts';
import { enforcedLevel, verifyJobIdentity, verifyLeftovers, verifySpace } from '../postgres/rules-volume.ts';
import { majorOf } from '../postgres/versions.ts';
import { verifyLocks } from '../postgres/locks.ts';
import { verifyPathFunctions } from '../postgres/path-functions.ts';
import { f, type Evidence } from './finding.ts';
import {
  verifyAccess,
  verifyLayout,
  verifySnapshots,
  verifyTargetImage,
  verifyVolumeUsers,
} from './findings-cluster.ts';
import { passwordSource, verifyControlData, verifyLibc, verifyPgUpgradeCheck } from './findings-server.ts';

/** The upgrade path: a supported major, and an image that carries both. */
function pathFinding(e: Evidence): Finding {
  const title = 'Upgrade path is supported';
  if (e.pathProblem) return f('upgrade-path', title, 'fail', e.pathProblem, 'choose --to from the supported majors');
  if (e.imageProblem)
    return f(
      'upgrade-path',
      title,
      'fail',
      e.imageProblem,
      'go in two steps, or name an image: --image for check, --job-image for upgrade',
    );
  const from = e.server ? majorOf(String(e.server.versionNum)) : 'unknown';
  return f('upgrade-path', title, 'pass', `${from} → ${e.to} with ${e.method}, image ${e.targetImage}`);
}

/** --method dump: the source's own findings, and code that the load would run. */
function dumpFindings(e: Evidence): Finding[] {
  if (e.method !== 'dump') return [];
  return [
    ...dumpSourceFindings({
      where: `${e.d.workload.kind} ${e.d.namespace}/${e.d.workload.metadata.name}`,
      pgdata: e.d.pgdata,
      hasVolume: !!e.d.pvc,
      inlinePassword: e.d.superuser?.literal ? e.d.superuser.env : undefined,
    }),
    ...verifyLoadCode(e.databases),
  ];
}

/** A stopped server: whether the probe could read it, and what its control data says. */
function offlineFindings(e: Evidence): Finding[] {
  if (!e.offline) return [];
  const read =
    !e.server || !e.databases
      ? f(
          'server-facts',
          'The stopped server could be read',
          'fail',
          `PostgreSQL did not start in probe pod ${e.offline.probe}: ${e.offline.serverError ?? 'unknown error'}`,
          'find why from the message (a crash-looping server fails the same way), fix it, and run check again; --initdb-encoding, --initdb-lc-collate and --initdb-lc-ctype let pg_upgrade --check run meanwhile',
        )
      : f(
          'credentials',
          'The superuser can connect',
          'warn',
          `not tried: the database is stopped, and check read it through the probe's own socket; the password in Secret ${e.d.superuser?.secret?.name ?? '?'} is tried when the database runs`,
        );
  return [read, ...verifyControlData(e)];
}

/** A live server: whether the superuser connects with the password found. */
function credentialsFinding(e: Evidence): Finding {
  if (e.credentialsError !== undefined || !e.server || !e.databases)
    return f(
      'credentials',
      'The superuser can connect',
      'fail',
      e.credentialsError ?? 'not tried',
      `check that ${passwordSource(e)} holds ${e.d.superuser?.user}'s current password, ` +
        'or pass --superuser-secret <secret>/<key> naming the one that does',
    );
  return f(
    'credentials',
    'The superuser can connect',
    'pass',
    `${e.d.superuser?.user} with the password from ${passwordSource(e)}`,
  );
}

/** --method dump: pg_hba.conf must let the superuser in over the pod's address. */
function remoteLoginFindings(e: Evidence): Finding[] {
  if (!e.remoteLoginError) return [];
  return [
    f(
      'remote-login',
      "The superuser can log in over the pod's address (the dump's load connects so, from the new instance's pod)",
      'fail',
      e.remoteLoginError,
      `let ${e.d.superuser?.user} in from the cluster's pod network in pg_hba.conf of ${e.d.namespace}/${e.d.pod?.metadata.name} (a host line with scram-sha-256 or md5 ` +
        'before any reject line, then SELECT pg_reload_conf()), or upgrade in place',
    ),
  ];
}

/** The rules on what the server holds: locales, libc, extensions, passwords, pg_upgrade's and the types' rules. */
function serverRuleFindings(e: Evidence): Finding[] {
  if (!e.server || !e.databases) return [];
  const input = {
    from: majorOf(String(e.server.versionNum)),
    to: e.to,
    method: e.method,
    server: e.server,
    databases: e.databases,
    targetIsStock: e.targetIsStock,
  };
  return [
    verifyLocales(input),
    ...verifyLibc(e),
    verifyExtensions(input),
    verifyPasswords(input),
    ...verifyPgUpgradeRules(input),
    ...verifyTypeRules(input),
    ...verifyConfigPaths(e.server.configPaths, e.method, e.server.dataDirectory),
    ...verifyTablespaces(e.server.tablespaces, e.method, e.server.dataDirectory, e.d.mountPath),
    ...verifyLocks(e.server.lockTable, e.databases, e.to, e.method),
    ...verifyPathFunctions(e.databases, e.method),
  ];
}

/** The volume: space, and whether the Job's identity can write where it must. */
function volumeFindings(e: Evidence, relayout: ReturnType<typeof relayoutFor>): Finding[] {
  if (!e.volume) return [];
  // PGDATA at the volume's root: the Job makes its directories inside it (relayout.ts), not in its parent.
  const inside = typeof relayout === 'object';
  const pgdata = e.server?.dataDirectory ?? e.d.pgdata;
  return [
    verifySpace(e.volume, e.method, e.d.pvc?.capacityBytes, e.volume.reflink),
    verifyJobIdentity(
      inside ? { ...e.volume, parent: e.volume.data } : e.volume,
      enforcedLevel(e.d.namespaceLabels),
      inside ? `${pgdata}/${e.to}/docker` : pgdata,
      e.d.fsGroup,
    ),
  ];
}

/** What an earlier upgrade left on the volume, and the plugin's own annotations on the workload. */
function leftoverFindings(e: Evidence): Finding[] {
  if (!e.volume) return [];
  const annotations = Object.keys(e.d.workload.metadata.annotations ?? {}).filter((k) => k.startsWith('pgupgrade.'));
  return [verifyLeftovers(e.volume, e.server?.dataDirectory ?? e.d.pgdata, annotations)];
}

/** All findings, in the report's order. */
export function evaluate(e: Evidence): Finding[] {
  const relayout = e.d.mountPath === undefined ? undefined : relayoutFor({ ...e.d, mountPath: e.d.mountPath }, e.to);
  return [
    verifyAccess(e),
    pathFinding(e),
    ...verifyTargetImage(e),
    ...verifyLayout(e, relayout),
    ...dumpFindings(e),
    ...offlineFindings(e),
    ...(e.offline ? [] : [credentialsFinding(e)]),
    ...remoteLoginFindings(e),
    ...serverRuleFindings(e),
    ...volumeFindings(e, relayout),
    verifyPgUpgradeCheck(e),
    verifySnapshots(e),
    ...verifyVolumeUsers(e),
    ...leftoverFindings(e),
  ];
}
