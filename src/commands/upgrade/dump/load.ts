import type { SourceDiscovery } from '../../../discovery/discover.ts';
import { CliError, ExitCode } from '../../../exit-codes.ts';
import { describeGlobals, type GlobalsRewrite, rewriteGlobals } from '../../../postgres/dump-globals.ts';
import { redactSecrets } from '../../../postgres/redact.ts';
import {
  DUMP_GLOBALS_SCRIPT,
  DUMP_RESTORE_SCRIPT,
  dumpRestoreArgs,
  dumpRestoreStdin,
  loadProgress,
} from '../../../postgres/dump-script.ts';
import { psqlStdin } from '../../../postgres/psql-scripts.ts';
import { liveReach } from '../../../server/reach.ts';
import { psqlEach } from '../../../server/psql.ts';
import { dst, targetPassword, type DumpCtx } from './ctx.ts';
import { targetDiscovery } from './instance.ts';
import { withHeartbeat } from '../../../postgres/heartbeat.ts';
import { execSilenceMs } from '../../../k8s/silence.ts';
import { BLOCKERS_SQL, isDumpLockTimeout, lockTimeoutMs } from '../../../postgres/lock-wait.ts';
import { lockTimeoutError } from '../../../server/lock-wait.ts';

const ROLES_SQL = `select coalesce(pg_catalog.string_agg(rolname, ',' order by rolname), '') from pg_catalog.pg_roles where rolname operator(pg_catalog.!~) '^pg_'`;
const DATABASES_SQL = `select pg_catalog.string_agg(pg_catalog.encode(pg_catalog.convert_to(datname, 'UTF8'), 'base64'), ',' order by datname)
  from pg_catalog.pg_database where datallowconn`;

/** Why DUMP_RESTORE_SCRIPT stopped, by its exit code. */
export function loadFailure(code: number): string {
  const why: Record<number, string> = {
    30: 'the target is not empty',
    31: 'the target is unreachable',
    32: 'the source is unreachable, or its session not read-only',
    33: 'the source and the target are one server',
    34: "the target image's pg_dump is older than the source",
    40: 'a pg_dump failed',
    41: 'a pg_restore failed',
    42: 'loading the roles and globals failed',
    90: 'its input was cut short',
  };
  // A shell reports a process killed by signal n as 128 + n: 137 when the new pod is deleted mid-load.
  if (!why[code] && code > 128 && code < 160)
    return `it was killed by signal ${code - 128}${code === 137 ? ' (SIGKILL: the new pod deleted, or out of memory)' : ''}`;
  return why[code] ?? `exit ${code}`;
}

/** What a stopped load leaves, and the way on: said by every failure of the load. */
export const RELOAD_NOTE = 'The source was only read. A re-run empties the new instance and loads it again';

/** What a re-run does after a failed load: the plugin's own instance is emptied; an existing --target is never reset. */
export const reloadNote = (existing?: boolean): string =>
  existing
    ? 'The source was only read. A re-run names what the load made in the existing target, for you to drop before it loads again'
    : RELOAD_NOTE;

/**
 * Any failure of the load as one clear error (exit 1) that says what a re-run does: also one that is not the
 * script's own, as when the new pod is killed mid-load and its exec stream breaks.
 */
export function loadStopped(err: unknown, existing?: boolean): CliError {
  const message = (err as Error).message ?? String(err);
  if (err instanceof CliError && message.includes(reloadNote(existing))) return err;
  return new CliError(`the dump and restore stopped: ${message}\n${reloadNote(existing)}`, ExitCode.failed);
}

/** When pg_dump gave up waiting for a lock on the source (--lock-wait-timeout): who holds it, and what to do. */
async function lockNote(ctx: DumpCtx, stderr: string, dbs: string[]): Promise<string> {
  if (!isDumpLockTimeout(stderr)) return '';
  const d = ctx.d;
  const e = await lockTimeoutError(
    `the source ${d.namespace}/${d.pod?.metadata.name ?? '?'} (pg_dump)`,
    lockTimeoutMs(),
    () => psqlEach(ctx.cluster, d, liveReach(d), ctx.password, dbs, BLOCKERS_SQL),
  );
  return `${e.message}\n`;
}

/** Calls `fn` with each whole line of a stream that arrives in chunks. */
function byLine(fn: (line: string) => void): (text: string) => void {
  let rest = '';
  return (text) => {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) fn(line);
  };
}

/** The source's address as the new pod reaches it: its pod's IP (exact, whatever a Service selects). */
function sourceAddress(ctx: DumpCtx): { host: string; port: number; user: string } {
  const host = ctx.d.pod?.podIP;
  if (!host) throw new CliError(`pod ${ctx.d.pod?.metadata.name ?? '?'} of the source has no IP`, ExitCode.failed);
  return { host, port: ctx.d.port, user: ctx.d.superuser?.user ?? 'postgres' };
}

/**
 * Globals first (`pg_dumpall --globals-only`, read-only, rewritten for the target's superuser and the roles it
 * has), then every database, streamed by DUMP_RESTORE_SCRIPT in the new pod, whose client tools are the target
 * major's. Passwords, globals and database names go on stdin; nothing of them is printed. Then each database's
 * activity counters are reset: from there on they count the clients' writes alone (the record's `loaded` time).
 */
export async function loadTarget(ctx: DumpCtx, report: (text: string) => void = () => undefined): Promise<string> {
  const s = dst(ctx);
  const t = await targetDiscovery(ctx);
  const pod = t.pod?.metadata.name as string;
  const src = sourceAddress(ctx);
  const globals = await dumpGlobals(ctx, t, pod, src);
  const dbs = await sourceDatabases(ctx);
  const args = dumpRestoreArgs({
    source: src,
    target: { host: '127.0.0.1', port: t.port, user: s.target.superuser },
    jobs: s.jobs,
    lockWaitMs: lockTimeoutMs(),
  });
  const r = await ctx.cluster.exec(
    ctx.d.namespace,
    pod,
    s.target.container,
    ['sh', '-c', withHeartbeat(DUMP_RESTORE_SCRIPT, execSilenceMs()), 'dump-restore', ...args],
    dumpRestoreStdin(ctx.password, targetPassword(ctx), globals.sql, dbs),
    byLine((line) => {
      const said = loadProgress(line, dbs);
      if (said) report(said);
    }),
  );
  if (r.exitCode !== 0) {
    // A failed statement of the globals is quoted by psql: its password hash never reaches the message.
    const said = redactLoadError(r.stderr.trim().split('\n').slice(-3).join(' '));
    throw new CliError(
      `the dump and restore stopped: ${loadFailure(r.exitCode)} (exit ${r.exitCode}): ${said}\n` +
        `${await lockNote(ctx, r.stderr, dbs)}${reloadNote(s.target.existing)}`,
      ExitCode.failed,
    );
  }
  // The restore's rows count as writes; validate tells a client's write from a loss by these counters, which begin here.
  await psqlEach(ctx.cluster, t, liveReach(t), targetPassword(ctx), dbs, 'SELECT pg_catalog.pg_stat_reset()');
  return `${dbs.length} databases`;
}

/**
 * The source's globals (`pg_dumpall --globals-only`, run in the new pod), rewritten for the target's superuser and
 * the roles the target has; what the rewrite did is kept in ctx.globalsNotes.
 */
async function dumpGlobals(
  ctx: DumpCtx,
  t: SourceDiscovery,
  pod: string,
  src: { host: string; port: number; user: string },
): Promise<GlobalsRewrite> {
  const s = dst(ctx);
  const g = await ctx.cluster.exec(
    ctx.d.namespace,
    pod,
    s.target.container,
    ['sh', '-c', withHeartbeat(DUMP_GLOBALS_SCRIPT, execSilenceMs()), 'globals', src.host, String(src.port), src.user],
    psqlStdin(ctx.password, []),
  );
  if (g.exitCode !== 0)
    throw new CliError(
      `pg_dumpall --globals-only of the source failed (exit ${g.exitCode}): ${g.stderr.trim().split('\n').slice(-2).join(' ')}`,
      ExitCode.failed,
    );
  const existing = (
    (await psqlEach(ctx.cluster, t, liveReach(t), targetPassword(ctx), ['postgres'], ROLES_SQL)).get('postgres') ?? ''
  )
    .trim()
    .split(',')
    .filter(Boolean);
  const globals = rewriteGlobals(g.stdout, { superuser: s.target.superuser, existing });
  ctx.globalsNotes = describeGlobals(globals, s.target.superuser);
  return globals;
}

/**
 * The names of the source's databases that the load copies: every one that allows connections, template1 too (its
 * contents and its public schema's owner and privileges are what later CREATE DATABASEs copy).
 */
async function sourceDatabases(ctx: DumpCtx): Promise<string[]> {
  const dbsLine = (
    (await psqlEach(ctx.cluster, ctx.d, liveReach(ctx.d), ctx.password, ['postgres'], DATABASES_SQL)).get('postgres') ??
    ''
  ).trim();
  return dbsLine
    .split(',')
    .filter(Boolean)
    .map((b) => Buffer.from(b, 'base64').toString('utf8'));
}

/** What pg_restore quotes of a failed statement, with every password hidden (src/postgres/redact.ts). */
export const redactLoadError = redactSecrets;
