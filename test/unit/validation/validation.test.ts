import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { KObject } from '../../../src/k8s/cluster.ts';
import type { UpgradeState } from '../../../src/state/state.ts';
import { inPlaceView } from '../../../src/state/validated-upgrade.ts';
import {
  appProblem,
  countersResetAfter,
  failedJobs,
  judgeApplications,
  judgeFinished,
} from '../../../src/validation/checks.ts';

const test = suite('validate: the Kubernetes side of an upgrade');

const recorded = {
  workload: { kind: 'StatefulSet', name: 'pg', replicas: 1 },
  from: 13,
  fromVersion: '13.22',
  to: 15,
  method: 'link',
  job: 'pgupgrade-pg-to-15',
  apps: [{ kind: 'Deployment', name: 'web', replicas: 2 }],
  phase: 'done',
  history: [
    { phase: 'db-start', at: '2026-01-01T00:00:00.000Z' },
    { phase: 'done', at: '2026-01-01T00:01:00.000Z' },
  ],
} as unknown as UpgradeState;
const state = inPlaceView(recorded);
const deploy = (replicas: number, ready: number): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', generation: 2 },
  spec: { replicas },
  status: { observedGeneration: 2, updatedReplicas: ready, readyReplicas: ready },
});

test('applications: back at the recorded replicas with a complete rollout, else the exact command', () => {
  assert.is(judgeApplications(state, [deploy(2, 2)], 'ns').status, 'pass');
  assert.match(
    appProblem(state.apps[0] as UpgradeState['apps'][0], deploy(0, 0), 'ns') ?? '',
    'kubectl -n ns scale deploy/web --replicas=2',
  );
  assert.match(
    appProblem(state.apps[0] as UpgradeState['apps'][0], deploy(2, 1), 'ns') ?? '',
    'rollout not complete, 1 of 2 ready',
  );
  assert.match(judgeApplications(state, [undefined], 'ns').found, 'deploy/web: gone');
});

test('nothing half-done: an unfinished phase names resume and rollback; a failed Job of ours fails', () => {
  assert.is(judgeFinished(state, [], 'ns').status, 'pass');
  const half = judgeFinished(inPlaceView({ ...recorded, phase: 'verified' }), [], 'ns');
  assert.is(half.status, 'fail');
  assert.match(half.fix ?? '', 'kubectl pgupgrade upgrade -n ns sts/pg --to 15 --method link');
  const jobs: KObject[] = [
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pgupgrade-pg-to-15', labels: { 'pgupgrade.kubectl.io/role': 'upgrade-job' } },
      status: { failed: 1 },
    },
    {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'other', labels: { 'pgupgrade.kubectl.io/role': 'upgrade-job' } },
      status: { succeeded: 1 },
    },
  ];
  assert.equal(failedJobs(jobs, state), ['pgupgrade-pg-to-15']);
  assert.match(
    judgeFinished(state, ['pgupgrade-pg-to-15'], 'ns').fix ?? '',
    'kubectl -n ns logs job/pgupgrade-pg-to-15',
  );
});

test('activity counters reset well after the new server started cannot be trusted; before it (initdb) they can', () => {
  assert.is(countersResetAfter('2025-12-31T23:59:00Z', '2026-01-01T00:00:00.000Z'), undefined);
  assert.is(countersResetAfter(null, '2026-01-01T00:00:00.000Z'), undefined);
  assert.is(countersResetAfter('2026-01-01T02:00:00Z', '2026-01-01T00:00:00.000Z'), '2026-01-01T02:00:00Z');
});

test.run();
