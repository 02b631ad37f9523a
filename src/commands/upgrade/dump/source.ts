import type { SourceDiscovery } from '../../../discovery/discover.ts';
import { autoConfSql, parsePriorSettings } from '../../../postgres/alter-system.ts';
import {
  END_OTHER_SESSIONS_SQL,
  namedEnded,
  parseEnded,
  READ_ONLY_SETTING,
  READ_ONLY_SQL,
  writableSql,
} from '../../../postgres/source-sessions.ts';
import { liveReach } from '../../../server/reach.ts';
import { psqlEach, runPsqlScript } from '../../../server/psql.ts';
import { isDumpDone } from '../../../state/dump-state.ts';
import { poll } from '../../../steps/poll.ts';
import { dst, recordState, type DumpCtx } from './ctx.ts';
import { TARGET_SQL_SCRIPT } from './instance.ts';

/** One answer of the source's server to our constant SQL, in database postgres. */
async function ask(ctx: DumpCtx, d: SourceDiscovery, password: string, sql: string): Promise<string> {
  return (await psqlEach(ctx.cluster, d, liveReach(d), password, ['postgres'], sql)).get('postgres') ?? '';
}

/**
 * Once the applications are down: the source's own value of default_transaction_read_only recorded (first, so
 * that a resumed run never takes ours for it), the source made read-only for every new transaction, then every
 * other client session ended, again until a new session sees the new default (the server reads its configuration
 * again asynchronously). The plugin's own dump sessions only read.
 */
export async function makeSourceReadOnly(ctx: DumpCtx, timeoutMs: number): Promise<string> {
  if (!dst(ctx).sourceBefore && !isDumpDone(ctx.state, 'source-read-only')) {
    ctx.state = {
      ...dst(ctx),
      sourceBefore: parsePriorSettings(await ask(ctx, ctx.d, ctx.password, autoConfSql([READ_ONLY_SETTING]))),
    };
    await recordState(ctx);
  }
  await runPsqlScript(
    ctx.cluster,
    ctx.d,
    ctx.password,
    TARGET_SQL_SCRIPT,
    READ_ONLY_SQL,
    'making the source read-only (ALTER SYSTEM)',
  );
  const ended: string[] = [];
  await poll('the source to read its configuration again (default_transaction_read_only = on)', timeoutMs, async () => {
    const r = parseEnded(await ask(ctx, ctx.d, ctx.password, END_OTHER_SESSIONS_SQL));
    ended.push(...r.ended);
    return r.readOnly || undefined;
  });
  const said = namedEnded(ended, ctx.d.podsByIp);
  return `read-only for new transactions; ${said.length ? `sessions ended: ${said.join(', ')}` : 'no other session was open'}`;
}

/** The source writable again: its own default_transaction_read_only back as it was (a record without it: untouched). */
export async function makeSourceWritable(ctx: DumpCtx, d: SourceDiscovery, password: string): Promise<boolean> {
  const before = dst(ctx).sourceBefore;
  if (!before) return false;
  await runPsqlScript(
    ctx.cluster,
    d,
    password,
    TARGET_SQL_SCRIPT,
    writableSql(before),
    'making the source writable again (ALTER SYSTEM)',
  );
  return true;
}
