/**
 * Facts read from a running server through exec'd psql: the server's and each database's, the data volume, the
 * version; a checkpoint; a login as another pod makes.
 */
import type { Cluster } from '../k8s/cluster.ts';
import { parseDatabaseFacts, parseServerFacts, type DatabaseFacts, type ServerFacts } from '../postgres/facts.ts';
import { parseVolumeFacts, type VolumeFacts } from '../postgres/volume-facts.ts';
import { withHeartbeat } from '../postgres/heartbeat.ts';
import { execSilenceMs } from '../k8s/silence.ts';
import { LOAD_CODE_SQL, parseLoadCode } from '../postgres/load-code.ts';
import { parseRestoreTraps, restoreTrapsSql } from '../postgres/restore-traps.ts';
import { DATABASE_SQL, SERVER_SQL, VOLUME_SCRIPT } from '../postgres/queries.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import { isHbaRefusal } from '../postgres/credentials.ts';
import { CredentialsError, psqlEach } from './psql.ts';
import { liveReach, type Reach } from './reach.ts';

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
  const traps = await psqlEach(
    cluster,
    d,
    r,
    password,
    names,
    restoreTrapsSql(loadCode, Math.floor(server.versionNum / 10000)),
  );
  const databases = new Map<string, DatabaseFacts>();
  for (const name of names) {
    const j = per.get(name);
    const c = code?.get(name);
    const t = traps.get(name);
    if (j)
      databases.set(name, {
        ...parseDatabaseFacts(j),
        ...(c ? { loadCode: parseLoadCode(c) } : {}),
        ...(t ? parseRestoreTraps(t) : {}),
      });
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
