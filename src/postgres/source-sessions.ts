import { restoreStatements, type PriorSetting } from './alter-system.ts';
import type { ServerFacts } from './facts.ts';

/**
 * The dump's source during the load: the applications that the plugin scales down stop writing, but a client
 * outside the selector (a CronJob's pod, a psql session, a server elsewhere) would go on writing to the old
 * instance after its fingerprint is read, into the volume that cleanup later deletes. Once the applications are
 * down the source is made read-only for every new transaction (`ALTER SYSTEM SET default_transaction_read_only`,
 * reloaded) and every other client session is ended; the rollback, or a run without cutover, puts it back.
 */

/** The setting that makes every new transaction read-only (a client may still ask for READ WRITE: a guard, not a lock). */
export const READ_ONLY_SETTING = 'default_transaction_read_only';

type Client = ServerFacts['clients'][number];

/**
 * The sessions that the downtime does not stop, named before it: those from a pod of the namespace that no
 * scaling stops (`stopped(pod)` false), and those from any other address. Sessions over the loopback address
 * come from inside the database's pod (the plugin's own psql among them) and are not named.
 */
export function sessionsLeft(
  clients: Client[],
  podsByIp: Record<string, string>,
  stopped: (pod: string) => boolean,
): string[] {
  const by = new Map<string, Set<string>>();
  for (const c of clients) {
    if (c.address === '127.0.0.1' || c.address === '::1') continue;
    const pod = c.address ? podsByIp[c.address] : undefined;
    if (pod && stopped(pod)) continue;
    const who = pod ? `pod ${pod}` : c.address ? `address ${c.address}` : "a local socket in the database's pod";
    by.set(who, (by.get(who) ?? new Set()).add(`${c.user ?? '?'}@${c.database ?? '?'}`));
  }
  // Each pod's sessions sorted: the server lists them in the order of its backend slots, which reconnects reshuffle.
  return [...by].map(([who, s]) => `${who} (${[...s].sort().join(', ')})`);
}

/** Makes the source read-only for every new transaction; ALTER SYSTEM runs outside a transaction block (psql -f). */
export const READ_ONLY_SQL = `ALTER SYSTEM SET ${READ_ONLY_SETTING} = 'on';\nSELECT pg_catalog.pg_reload_conf();`;

/** Puts the source's own setting back (as its auto.conf had it: `prior`), and reloads. */
export function writableSql(prior: PriorSetting[]): string {
  return [...restoreStatements([READ_ONLY_SETTING], prior), 'SELECT pg_catalog.pg_reload_conf();'].join('\n');
}

/**
 * Ends every client session but this one, as one JSON object (none is spared by its application_name, which any
 * client sets as it likes; the plugin has no other session open on the source then): `read_only`, what this new
 * session's default is (on once the server has read the configuration again), and `ended`, each session
 * ended as user@database from its address.
 */
export const END_OTHER_SESSIONS_SQL =
  `select pg_catalog.json_build_object('read_only', pg_catalog.current_setting('${READ_ONLY_SETTING}'),
 'ended', (select coalesce(pg_catalog.json_agg(pg_catalog.format('%s@%s from %s', a.usename, a.datname, coalesce(pg_catalog.host(a.client_addr), 'local socket'))
   order by a.pid) filter (where pg_catalog.pg_terminate_backend(a.pid)), '[]')
  from pg_catalog.pg_stat_activity a where a.backend_type = 'client backend' and a.pid <> pg_catalog.pg_backend_pid()))`.replace(
    /\s+/g,
    ' ',
  );

/** The answer of END_OTHER_SESSIONS_SQL. */
export function parseEnded(json: string): { readOnly: boolean; ended: string[] } {
  const r = JSON.parse(json.trim()) as { read_only?: unknown; ended?: unknown };
  return { readOnly: r.read_only === 'on', ended: Array.isArray(r.ended) ? r.ended.map(String) : [] };
}

/** The ended sessions with each pod's address said as the pod's name. */
export function namedEnded(ended: string[], podsByIp: Record<string, string>): string[] {
  return ended.map((e) =>
    e.replace(/ from (\S+)$/, (m, ip: string) => (podsByIp[ip] ? ` from pod ${podsByIp[ip]}` : m)),
  );
}
