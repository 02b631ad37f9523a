import type { Finding } from './rules.ts';
import { offendersText, updateStatement } from './extension-guard.ts';
import type { ValidateClusterFacts, ValidateDbFacts } from './validate-facts.ts';

/**
 * How `validate` judges an upgraded server: pure functions from facts to one finding per check, PASS, WARN or
 * FAIL with its fix. The facts come from src/postgres/validate-sql.ts and from the cluster.
 */

/** A check's finding, with the lines behind it (a diff, the indexes checked). */
export interface ValidateFinding extends Finding {
  details?: string[];
}

/** A finding of `validate`: its fix only when it did not pass, its details only when there are some. */
export const validateFinding = (
  id: string,
  title: string,
  status: Finding['status'],
  found: string,
  fix?: string,
  details?: string[],
): ValidateFinding => ({
  id,
  title,
  status,
  found,
  ...(fix && status !== 'pass' ? { fix } : {}),
  ...(details?.length ? { details } : {}),
});
const f = validateFinding;
const per = (m: Map<string, string[]>) => [...m].filter(([, v]) => v.length).map(([db, v]) => `${db}: ${v.join(', ')}`);

/** 1. The server runs the recorded target major; its pod is Ready and has not restarted since the upgrade. */
export function judgeServer(
  to: number,
  versionNum: number | undefined,
  pod: { name: string; ready: boolean; restarts: number } | undefined,
  logs: string,
): ValidateFinding {
  const title = `The server runs PostgreSQL ${to}, Ready, with no restarts since`;
  if (!pod)
    return f(
      'server',
      title,
      'fail',
      'no pod of the database runs',
      'scale the database back to its replicas and look at its events',
    );
  const major = versionNum === undefined ? undefined : Math.floor(versionNum / 10000);
  if (major !== to)
    return f(
      'server',
      title,
      'fail',
      `pod ${pod.name} runs PostgreSQL ${major ?? 'unknown'}, not the recorded target ${to}`,
      'point the workload at the target image again (upgrade resumes it), or roll back',
    );
  if (!pod.ready) return f('server', title, 'fail', `pod ${pod.name} is not Ready`, logs);
  if (pod.restarts > 0)
    return f(
      'server',
      title,
      'fail',
      `pod ${pod.name} has restarted ${pod.restarts} time${pod.restarts > 1 ? 's' : ''}`,
      `read why: ${logs} --previous`,
    );
  return f(
    'server',
    title,
    'pass',
    `pod ${pod.name}: PostgreSQL ${Math.floor((versionNum as number) / 10000)}.${(versionNum as number) % 10000}, Ready, 0 restarts`,
  );
}

/**
 * 2. Every database accepts connections (they were all read: an error there is passed in), and every role that
 * had a password in the reference still exists, may log in, has not expired and keeps its kind of hash.
 */
export function judgeConnections(
  reference: Record<string, string>,
  c: ValidateClusterFacts,
  connectError?: string,
  ownSuperuser?: string,
): ValidateFinding {
  const title = 'Every database accepts connections; every role that could log in still can';
  const now = new Map(c.roles.map((r) => [r.name, r]));
  const bad: string[] = [];
  const own: string[] = [];
  for (const [name, hash] of Object.entries(reference)) {
    const r = now.get(name);
    if (!r) bad.push(`role ${name}: missing`);
    // A new instance's own superuser has its Secret's password, hashed as the target hashes it: it logged in to be read.
    else if (name === ownSuperuser && r.login) {
      if (hash !== r.hash)
        own.push(`${name} (the new instance's own superuser, its Secret's password: ${hash} → ${r.hash})`);
    } else if (hash !== 'none' && !r.login) bad.push(`role ${name}: may no longer log in`);
    else if (hash !== 'none' && r.expired) bad.push(`role ${name}: its password has expired`);
    else if (hash !== r.hash) bad.push(`role ${name}: password hash ${hash} → ${r.hash}`);
  }
  const closed = c.databases.filter((d) => !d.allow && d.name !== 'template0').map((d) => d.name);
  if (connectError)
    bad.push(`a database could not be read (refused the connection, or the query failed): ${connectError}`);
  for (const d of closed) bad.push(`database ${d}: does not allow connections (datallowconn)`);
  const logins = Object.values(reference).filter((h) => h !== 'none').length;
  if (bad.length)
    return f(
      'connections',
      title,
      'fail',
      bad.join('; '),
      'restore the roles and settings as they were before the upgrade (ALTER ROLE … LOGIN / PASSWORD, ALTER DATABASE … ALLOW_CONNECTIONS true)',
    );
  return f(
    'connections',
    title,
    'pass',
    `${c.databases.filter((d) => d.allow).length} databases connected; ${logins} roles with a password, each with its kind of hash` +
      (own.length ? `, but for ${own.join(', ')}` : ''),
  );
}

/** 4. Tables with rows and no planner statistics. */
export function judgeStatistics(dbs: Map<string, ValidateDbFacts>, to: number, analyzed: boolean): ValidateFinding {
  const title = 'Planner statistics exist';
  const m = new Map([...dbs].map(([db, x]) => [db, x.noStats]));
  const n = [...m.values()].reduce((s, v) => s + v.length, 0);
  if (!n)
    return f(
      'statistics',
      title,
      'pass',
      analyzed ? 'rebuilt (vacuumdb --analyze-in-stages)' : 'every table with rows has statistics',
    );
  return f(
    'statistics',
    title,
    'warn',
    `${n} table${n > 1 ? 's' : ''} with rows but no statistics (queries on them may plan badly)`,
    `--analyze (vacuumdb --all --analyze-in-stages${to >= 18 ? ' --missing-stats-only' : ''})`,
    per(m),
  );
}

/**
 * 5. Extensions older than the target's default; one whose files are gone fails. One whose schemas a
 * non-superuser can write is named with what was found there and its statement: --update-extensions skips it.
 */
export function judgeExtensions(dbs: Map<string, ValidateDbFacts>): ValidateFinding {
  const title = "Extensions are at the target's default versions";
  const old = new Map(
    [...dbs].map(([db, x]) => [
      db,
      x.extensions.filter((e) => e.default !== null).map((e) => `${e.name} ${e.installed} (default ${e.default})`),
    ]),
  );
  const gone = new Map(
    [...dbs].map(([db, x]) => [db, x.extensions.filter((e) => e.default === null).map((e) => e.name)]),
  );
  if (per(gone).length)
    return f(
      'extensions',
      title,
      'fail',
      `installed, but the target image does not ship them: ${per(gone).join('; ')}`,
      "install the extension's files for the target major in the image",
    );
  if (!per(old).length) return f('extensions', title, 'pass', 'every extension is at its default version');
  const risks = [...dbs].flatMap(([db, x]) => x.extensionRisks.map((r) => ({ db, ...r })));
  const found = `older than the default: ${per(old).join('; ')}`;
  if (!risks.length) return f('extensions', title, 'warn', found, '--update-extensions (ALTER EXTENSION … UPDATE)');
  return f(
    'extensions',
    title,
    'warn',
    `${found}; not safe to update as superuser (an update script runs with its extension's schema as search_path, ` +
      `where non-superusers can put code): ${risks.map((r) => `${r.extension} in database ${r.db} (schema ${r.schema}): ${offendersText(r)}`).join('; ')}`,
    `check and remove what was found (or revoke CREATE), then run ${risks.map((r) => `in database ${r.db}: ${updateStatement(r)}`).join('; ')}` +
      `${risks.length < [...old.values()].flat().length ? '; --update-extensions updates the others' : ''}`,
  );
}
