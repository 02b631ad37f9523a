/** psql exec'd in the database pod: the password and database names on stdin, never on a command line. */
import type { Cluster } from '../k8s/cluster.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { parsePerDatabase } from '../postgres/facts.ts';
import { withHeartbeat } from '../postgres/heartbeat.ts';
import { execSilenceMs } from '../k8s/silence.ts';
import { heldPsqlScript, psqlScript, psqlStdin } from '../postgres/psql-scripts.ts';
import { BLOCKERS_LOCK_TIMEOUT_MS, BLOCKERS_SQL, isLockTimeout, lockTimeoutMs } from '../postgres/lock-wait.ts';
import { lockTimeoutError } from './lock-wait.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import { liveReach, type Reach } from './reach.ts';

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
