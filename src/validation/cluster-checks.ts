import type { ListrTask } from 'listr2';
import { judgeData } from '../postgres/validate-data.ts';
import type { ValidateFinding } from '../postgres/validate.ts';
import { countersResetAfter } from './checks.ts';
import { refOf } from '../postgres/workload.ts';
import { readDatabases, type ValidateCtx } from './ctx.ts';

// PostgreSQL 15 and later flush a busy session's activity counts at most this late (PGSTAT_IDLE_INTERVAL, 10 s).
const COUNTERS_SETTLE_MS = 11_000;

/** The data check from what was read; undefined when there was nothing to compare with. */
export function dataFinding(ctx: ValidateCtx): ValidateFinding | undefined {
  if (!ctx.reference || !ctx.fingerprint) return undefined;
  const dbStart = ctx.state.countersSince;
  return judgeData({
    reference: ctx.reference.fingerprint,
    referenceSource: ctx.reference.source,
    now: ctx.fingerprint,
    writes: Object.fromEntries([...ctx.dbs].map(([db, f]) => [db, f.writes])),
    countersReset: Object.fromEntries([...ctx.dbs].map(([db, f]) => [db, countersResetAfter(f.statsReset, dbStart)])),
    rollback: `kubectl pgupgrade upgrade -n ${ctx.d.namespace} ${refOf(ctx.state.workload)} --rollback`,
  });
}

/**
 * A difference that no counted write explains is read once more after the counters have settled: a session
 * that wrote just before the fingerprint may not have reported its counts yet.
 */
function settleTask(): ListrTask<ValidateCtx> {
  return {
    title: 'Read the activity counters again after they settle (a difference no write explains)',
    enabled: (ctx) => !!ctx.server && !ctx.connectError,
    skip: (ctx) => dataFinding(ctx)?.status !== 'fail' && 'every difference is explained',
    task: async (ctx) => {
      await new Promise((r) => setTimeout(r, COUNTERS_SETTLE_MS));
      await readDatabases(ctx);
    },
  };
}

/** The Kubernetes side: the recorded applications and the upgrade's Jobs. */
export function createKubernetesTasks(): Array<ListrTask<ValidateCtx>> {
  return [
    settleTask(),
    {
      title: 'Read the applications the upgrade recorded, and its Jobs',
      task: async (ctx, task) => {
        ctx.apps = await Promise.all(
          ctx.state.apps.map((a) =>
            ctx.cluster.readObject({ apiVersion: 'apps/v1', kind: a.kind, namespace: ctx.d.namespace, name: a.name }),
          ),
        );
        ctx.jobs = await ctx.cluster.listObjects(
          'batch/v1',
          'Job',
          ctx.d.namespace,
          'app.kubernetes.io/managed-by=kubectl-pgupgrade',
        );
        task.title = `Read the applications (${ctx.state.apps.map(refOf).join(', ') || 'none recorded'}) and ${ctx.jobs.length} Job${ctx.jobs.length === 1 ? '' : 's'}`;
      },
    },
  ];
}
