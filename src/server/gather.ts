import type { Cluster } from '../k8s/cluster.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import {
  parseDatabaseFacts,
  parsePerDatabase,
  parseServerFacts,
  type DatabaseFacts,
  type ServerFacts,
} from '../postgres/facts.ts';
import { parseVolumeFacts, type VolumeFacts } from '../postgres/volume-facts.ts';
import { withHeartbeat } from '../postgres/heartbeat.ts';
import { execSilenceMs } from '../k8s/silence.ts';
import { LOAD_CODE_SQL, parseLoadCode } from '../postgres/load-code.ts';
import { DATABASE_SQL, SERVER_SQL, VOLUME_SCRIPT } from '../postgres/queries.ts';
import { heldPsqlScript, psqlScript, psqlStdin } from '../postgres/psql-scripts.ts';
import { BLOCKERS_LOCK_TIMEOUT_MS, BLOCKERS_SQL, isLockTimeout, lockTimeoutMs } from '../postgres/lock-wait.ts';
import { lockTimeoutError } from './lock-wait.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import { readSuperuser } from '../discovery/credentials.ts';
import { isHbaRefusal } from '../postgres/credentials.ts';

/** How the database was reached, for the report. */
export interface Reach {
  pod: string;
  container: string;
  /** Connect over this Unix socket directory instead of TCP (check's probe pod). */
  socketDir?: string;
  /** Connect over TCP to this address instead of 127.0.0.1 (the pod's own IP: a login as another pod's client makes). */
  host?: string;
}

/** How check reaches the server: a ready pod (live), or, with no pod at all, a probe pod on the volume. */
export type Mode = 'live' | 'offline';

/** Live when a pod is ready; offline when none exists; an error when pods exist but none is ready. */
export function modeOf(d: SourceDiscovery): Mode {
  if (!d.pod) return 'offline';
  if (d.pod.ready) return 'live';
  const where = `${d.workload.kind} ${d.namespace}/${d.workload.metadata.name}`;
  throw new CliError(
    `${where}: pod ${d.pod.metadata.name} exists but is not ready (${d.pod.phase}). check reads a running database through its pod, ` +
      `or a stopped one through a probe pod on its volume, but never beside a server that may be starting: make it ready, or scale it to 0 ` +
      `(kubectl -n ${d.namespace} scale ${d.workload.kind.toLowerCase()}/${d.workload.metadata.name} --replicas=0) and run check again`,
    ExitCode.failed,
  );
}

/** The database pod's container. */
export function liveReach(d: SourceDiscovery): Reach {
  return { pod: d.pod?.metadata.name ?? '', container: d.container.name };
}

/** Reads the superuser's password (src/discovery/credentials.ts); it never leaves memory. */
export async function readPassword(cluster: Cluster, d: SourceDiscovery): Promise<string> {
  return (await readSuperuser(cluster, d)).password;
}

/** An error from psql that says the password or user is wrong. */
export class CredentialsError extends Error {}

/** Runs one SQL text in each database through psql in the pod; the password and names go on stdin. */
export async function psqlEach(
  cluster: Cluster,
  d: SourceDiscovery,
  r: Reach,
  password: string,
  dbs: string[],
  sql: string,
  onHeld?: () => void,
): Promise<Map<string, string>> {
  // With onHeld, every database is read in one REPEATABLE READ transaction whose snapshot is taken first, and
  // onHeld is called once all are held: what the SQL reads no longer changes, whatever runs afterwards.
  let seen = '';
  const watch =
    onHeld &&
    ((t: string) => {
      if (seen.includes('HELD')) return;
      seen += t;
      if (/(^|\n)HELD\n/.test(seen)) onHeld();
    });
  const lockMs = lockTimeoutMs();
  const script = withHeartbeat(onHeld ? heldPsqlScript(lockMs) : psqlScript(lockMs), execSilenceMs());
  const res = await cluster.exec(
    d.namespace,
    r.pod,
    r.container,
    psqlArgv(d, r, script, sql),
    psqlStdin(password, dbs),
    watch || undefined,
  );
  if (res.exitCode !== 0) {
    const msg = res.stderr.trim().split('\n').slice(-2).join(' ');
    if (/password authentication failed|no password supplied|role .* does not exist/.test(msg))
      throw new CredentialsError(msg);
    if (isLockTimeout(res.stderr)) {
      throw await lockTimeoutError(`${d.namespace}/${r.pod}`, lockMs, () => blockersVia(cluster, d, r, password, dbs));
    }
    throw new Error(`psql in ${d.namespace}/${r.pod} exited ${res.exitCode}: ${msg}`);
  }
  return parsePerDatabase(res.stdout.replace(/^HELD\n/m, ''));
}

/** The exec's command line: the script, then its arguments ($1 user, $2 port, $3 SQL, $4 host); never the password. */
function psqlArgv(d: SourceDiscovery, r: Reach, script: string, sql: string): string[] {
  const host = r.socketDir ? [r.socketDir] : r.host ? [r.host] : [];
  const port = r.socketDir ? '5432' : String(d.port);
  return ['sh', '-c', script, 'sh', d.superuser?.user ?? 'postgres', port, sql, ...host];
}

/** BLOCKERS_SQL in each database, in a short session of its own, after a lock timeout. */
async function blockersVia(
  cluster: Cluster,
  d: SourceDiscovery,
  r: Reach,
  password: string,
  dbs: string[],
): Promise<Map<string, string>> {
  const res = await cluster.exec(
    d.namespace,
    r.pod,
    r.container,
    psqlArgv(d, r, psqlScript(BLOCKERS_LOCK_TIMEOUT_MS), BLOCKERS_SQL),
    psqlStdin(password, dbs),
  );
  if (res.exitCode !== 0)
    throw new Error(`psql exited ${res.exitCode}: ${res.stderr.trim().split('\n').slice(-2).join(' ')}`);
  return parsePerDatabase(res.stdout);
}

/**
 * Runs a psql-calling shell script in the database container (update_extensions.sql, vacuumdb): the password goes
 * on stdin, never on the command line. Arguments: $1 user, $2 port, then `args`. Resolves to its output.
 */
export async function runPsqlScript(
  cluster: Cluster,
  d: SourceDiscovery,
  password: string,
  script: string,
  args: string | string[],
  what: string,
): Promise<string> {
  const r = liveReach(d);
  const res = await cluster.exec(
    d.namespace,
    r.pod,
    r.container,
    [
      'sh',
      '-c',
      withHeartbeat(script, execSilenceMs()),
      'sh',
      d.superuser?.user ?? 'postgres',
      String(d.port),
      ...[args].flat(),
    ],
    psqlStdin(password, []),
  );
  if (res.exitCode !== 0)
    throw new CliError(`${what} failed (exit ${res.exitCode}): ${res.stderr.trim()}`, ExitCode.failed);
  return res.stdout;
}

/** The server's facts, then each connectable database's (with what a logical load would run of a user's code, for --method dump). */
export async function gatherServer(
  cluster: Cluster,
  d: SourceDiscovery,
  r: Reach,
  password: string,
  loadCode = false,
): Promise<{ server: ServerFacts; databases: Map<string, DatabaseFacts> }> {
  const first = await psqlEach(cluster, d, r, password, ['postgres'], SERVER_SQL);
  const json = first.get('postgres');
  if (!json) throw new Error(`no answer from the server in ${d.namespace}/${r.pod}`);
  const server = parseServerFacts(json);
  const names = server.databases.filter((db) => db.allowConn).map((db) => db.name);
  const per = await psqlEach(cluster, d, r, password, names, DATABASE_SQL);
  const code = loadCode ? await psqlEach(cluster, d, r, password, names, LOAD_CODE_SQL) : undefined;
  const databases = new Map<string, DatabaseFacts>();
  for (const name of names) {
    const j = per.get(name);
    const c = code?.get(name);
    if (j) databases.set(name, { ...parseDatabaseFacts(j), ...(c ? { loadCode: parseLoadCode(c) } : {}) });
  }
  return { server, databases };
}

/** The data volume as the database container sees it. */
export async function gatherVolume(
  cluster: Cluster,
  d: SourceDiscovery,
  r: Reach,
  pgdata: string,
  probeReflink = false,
): Promise<VolumeFacts> {
  const res = await cluster.exec(d.namespace, r.pod, r.container, [
    'sh',
    '-c',
    withHeartbeat(VOLUME_SCRIPT, execSilenceMs()),
    'sh',
    pgdata,
    ...(probeReflink ? ['reflink'] : []),
  ]);
  if (res.exitCode !== 0)
    throw new Error(
      `inspecting ${pgdata} in ${d.namespace}/${r.pod} failed (exit ${res.exitCode}): ${res.stderr.trim()}`,
    );
  return parseVolumeFacts(res.stdout);
}

/** The running server's version, as `13.22` and 130022. */
export async function serverVersion(
  cluster: Cluster,
  d: SourceDiscovery,
  r: Reach,
  password: string,
): Promise<{ version: string; num: number }> {
  const out = (
    await psqlEach(
      cluster,
      d,
      r,
      password,
      ['postgres'],
      `select pg_catalog.json_build_object('v', pg_catalog.current_setting('server_version'), 'n', pg_catalog.current_setting('server_version_num')::pg_catalog.int4)`,
    )
  ).get('postgres');
  const j = JSON.parse(out ?? '{}') as { v?: string; n?: number };
  if (!j.v || !j.n) throw new Error(`no version from the server in ${d.namespace}/${r.pod}`);
  return { version: j.v.split(' ')[0] ?? j.v, num: j.n };
}

/** A CHECKPOINT, so that the crash recovery of a snapshot of the running server replays as little WAL as possible. */
export async function checkpoint(cluster: Cluster, d: SourceDiscovery, r: Reach, password: string): Promise<void> {
  await psqlEach(cluster, d, r, password, ['postgres'], 'checkpoint');
}

/**
 * Logs in as the superuser over the pod's own IP address, as a client in another pod does (the dump's load, an
 * application). Over 127.0.0.1 many images trust every login (the official image's initdb does), so a stale
 * Secret passes there and fails only once the applications are down. Resolves to the server's refusal: of the
 * password, or by pg_hba.conf (a server that takes its superuser over local connections only); undefined when it
 * let the login in or the address is not reached at all (a server that listens on localhost).
 */
export async function remoteLoginRefusal(
  cluster: Cluster,
  d: SourceDiscovery,
  password: string,
): Promise<{ password?: string; hba?: string } | undefined> {
  const ip = d.pod?.podIP;
  if (!ip) return undefined;
  try {
    await psqlEach(cluster, d, { ...liveReach(d), host: ip }, password, ['postgres'], 'select 1');
    return undefined;
  } catch (err) {
    const how = `over the pod's own address ${ip}, as another pod connects`;
    if (err instanceof CredentialsError) return { password: `${how}: ${err.message}` };
    return isHbaRefusal((err as Error).message)
      ? { hba: `${how}: ${(err as Error).message.replace(/^psql in \S+ exited \d+: /, '')}` }
      : undefined;
  }
}
