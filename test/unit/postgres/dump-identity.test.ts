import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { podsOfService, sameServerProblem, sameServerReasons, selectorMatches, type LabelledPod } from '../../../src/postgres/dump-identity.ts';

const test = suite('the dump method never loads a server into itself: identity, not names');

const pods: LabelledPod[] = [
  { namespace: 'db', name: 'postgres-0', labels: { app: 'postgres', 'statefulset.kubernetes.io/pod-name': 'postgres-0' } },
  { namespace: 'db', name: 'postgres-v15-0', labels: { 'pgupgrade.kubectl.io/instance': 'postgres-v15' } },
  { namespace: 'other', name: 'postgres-0', labels: { app: 'postgres' } },
];

test('a Service leads to the pods that carry every label of its selector, in its namespace; no selector, no pods', () => {
  assert.equal(podsOfService('db', { app: 'postgres' }, pods), ['db/postgres-0']);
  assert.equal(podsOfService('db', { 'pgupgrade.kubectl.io/instance': 'postgres-v15' }, pods), ['db/postgres-v15-0']);
  assert.equal(podsOfService('db', {}, pods), []);
  assert.equal(podsOfService('db', undefined, pods), []);
});

test('two Service names for one server are caught through their pods', () => {
  const viaPrimary = { label: 'svc/postgres', pods: podsOfService('db', { app: 'postgres' }, pods) };
  const viaAlias = { label: 'svc/postgres-rw', pods: podsOfService('db', { 'statefulset.kubernetes.io/pod-name': 'postgres-0' }, pods) };
  assert.equal(sameServerReasons(viaPrimary, viaAlias), ['svc/postgres and svc/postgres-rw lead to the same pod (db/postgres-0)']);
  assert.match(sameServerProblem(viaPrimary, viaAlias) ?? '', 'the source and the target are the same server');
});

test('one workload, one volume, or one system_identifier is enough; two servers pass', () => {
  const a = { label: 'sts/postgres', workloadUid: 'u1', volumes: ['db/data-postgres-0', 'pv:pvc-1'], pods: ['db/postgres-0'], systemIdentifier: '7301' };
  assert.is(sameServerReasons(a, { label: 'x', workloadUid: 'u1' }).length, 1);
  assert.match(sameServerReasons(a, { label: 'x', volumes: ['pv:pvc-1'] })[0] ?? '', 'the same volume (pv:pvc-1)');
  assert.match(sameServerReasons(a, { label: 'x', systemIdentifier: '7301' })[0] ?? '', 'a copy of its files');
  const b = { label: 'sts/postgres-v15', workloadUid: 'u2', volumes: ['db/data-postgres-v15'], pods: ['db/postgres-v15-0'], systemIdentifier: '7399' };
  assert.equal(sameServerReasons(a, b), []);
  assert.is(sameServerProblem(a, b), undefined);
  assert.equal(sameServerReasons({ label: 'a' }, { label: 'b' }), [], 'nothing known is nothing shared');
});

test('a selector matches labels only when it has terms and every one is equal', () => {
  assert.ok(selectorMatches({ app: 'postgres' }, { app: 'postgres', x: 'y' }));
  assert.not.ok(selectorMatches({ app: 'postgres', tier: 'db' }, { app: 'postgres' }));
  assert.not.ok(selectorMatches({}, { app: 'postgres' }));
});

test.run();
