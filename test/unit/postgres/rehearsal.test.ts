import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  completeTimings,
  failedRehearsalProblem,
  jobLogFacts,
  parseRehearsalRecord,
  predictDowntime,
  STOP_ALLOWANCE_MS,
} from '../../../src/postgres/rehearsal.ts';

const t = {
  snapshotCutMs: 300,
  oldStopMs: 400,
  jobPodStartMs: 300,
  jobRunMs: 2000,
  newPodStartMs: 300,
  newServerStartMs: 500,
  shapeReadMs: 100,
};

test('the predicted downtime adds the measured parts, the stop allowance and the readiness waits; grace periods are a bound beside it', () => {
  const p = predictDowntime(t, { appGraceSeconds: 30, readinessSeconds: 4 });
  const ms = 400 + STOP_ALLOWANCE_MS + 300 + 2300 + 800 + 200 + 4000 + 300;
  assert.is(p.seconds, Math.round(ms / 100) / 10);
  assert.is(p.parts.length, 6);
  assert.is(p.graceBoundSeconds, 30);
  assert.is(completeTimings(t), t);
  assert.is(
    completeTimings({ ...t, newServerStartMs: undefined }),
    undefined,
    'a rehearsal that stopped before the new server started predicts nothing',
  );
});

test("the Job's log: settings commented out, extension updates, pg_upgrade's own time", () => {
  const log =
    'pgupgrade: postgresql.conf: stats_temp_directory was removed in PostgreSQL 15; commented out\npgupgrade: pg_upgrade took 1834 ms\n' +
    'pgupgrade: update_extensions.sql written: run after the new server starts\n';
  assert.equal(jobLogFacts(log), {
    commentedOut: ['stats_temp_directory (postgresql.conf)'],
    updateExtensions: true,
    pgUpgradeMs: 1834,
  });
  assert.equal(jobLogFacts(''), { commentedOut: [], updateExtensions: false });
});

test('a failed rehearsal of the same target holds the upgrade back; a passed one, another target, or none does not', () => {
  const failed = parseRehearsalRecord(
    JSON.stringify({
      to: 17,
      method: 'link',
      ok: false,
      at: '2026-12-01T09:00:00Z',
      failure: 'the upgrade Job failed',
    }),
  );
  assert.match(
    failedRehearsalProblem(failed, 17, 'pgupgrade-rehearsal-db', 'kubectl pgupgrade upgrade --to 17 --rehearse') ?? '',
    'the last rehearsal of this upgrade to 17',
  );
  assert.is(failedRehearsalProblem(failed, 15, 'cm', 'x'), undefined);
  assert.is(failedRehearsalProblem({ ...failed!, ok: true }, 17, 'cm', 'x'), undefined);
  assert.is(failedRehearsalProblem(undefined, 17, 'cm', 'x'), undefined);
  assert.is(parseRehearsalRecord('{"to":"17"}'), undefined);
  assert.is(parseRehearsalRecord('not json'), undefined);
});

test.run();
