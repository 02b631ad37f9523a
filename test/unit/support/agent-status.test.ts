import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { finishedPhase, podStatus, type ContainerView } from '../../support/agent/status.ts';

const c = (name: string, state: ContainerView['state'], extra: Partial<ContainerView> = {}): ContainerView => ({
  name,
  image: 'postgres:13',
  init: false,
  state,
  ready: false,
  started: false,
  restartCount: 0,
  ...extra,
});
const done = (exitCode: number): ContainerView['state'] => ({
  kind: 'terminated',
  exitCode,
  reason: exitCode ? 'Error' : 'Completed',
  finishedAt: 'now',
});

test('phase by restartPolicy once containers stop', () => {
  assert.is(finishedPhase('Never', [c('a', done(0))]), 'Succeeded');
  assert.is(finishedPhase('Never', [c('a', done(0)), c('b', done(3))]), 'Failed');
  assert.is(finishedPhase('OnFailure', [c('a', done(3))]), undefined);
  assert.is(finishedPhase('OnFailure', [c('a', done(0))]), 'Succeeded');
  assert.is(finishedPhase('Always', [c('a', done(0))]), undefined);
  assert.is(finishedPhase('Never', [c('a', done(0)), c('b', { kind: 'running', startedAt: 't' })]), undefined);
});

test('Ready only when every main container is ready and the pod is not being deleted', () => {
  const ready = c('db', { kind: 'running', startedAt: 't' }, { ready: true, started: true });
  const pod = { phase: 'Running' as const, podIP: '10.0.0.2', startTime: 't', initialized: true, deleting: false };
  const st = podStatus(pod, [c('init', done(0), { init: true }), ready], '127.0.0.1', 'now') as any;
  assert.equal(st.conditions.find((x: any) => x.type === 'Ready').status, 'True');
  assert.is(st.initContainerStatuses[0].state.terminated.exitCode, 0);
  assert.is(st.containerStatuses[0].state.running.startedAt, 't');
  assert.is(st.podIP, '10.0.0.2');
  const deleting = podStatus({ ...pod, deleting: true }, [ready], '127.0.0.1', 'now') as any;
  assert.equal(deleting.conditions.find((x: any) => x.type === 'Ready').status, 'False');
});

test('an image pull error shows as the waiting reason', () => {
  const st = podStatus(
    { phase: 'Pending', startTime: 't', initialized: true, deleting: false },
    [c('x', { kind: 'waiting', reason: 'ErrImagePull', message: 'unknown image' })],
    '127.0.0.1',
    'now',
  ) as any;
  assert.equal(st.containerStatuses[0].state, { waiting: { reason: 'ErrImagePull', message: 'unknown image' } });
});

test.run();
