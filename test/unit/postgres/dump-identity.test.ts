import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Pod } from '../../../src/k8s/cluster.ts';
import {
  identityOfPods,
  podsSelected,
  sameServerProblem,
  sameServerReasons,
  selectorMatches,
} from '../../../src/postgres/dump-identity.ts';

const test = suite('the dump method never loads a server into itself: identity, not names');

const pod = (name: string, labels: Record<string, string>, claim?: string): Pod => ({
  metadata: { name, labels },
  phase: 'Running',
  ready: true,
  spec: { containers: [], volumes: claim ? [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] : [] },
});
const pods = [
  pod('postgres-0', { app: 'postgres', 'statefulset.kubernetes.io/pod-name': 'postgres-0' }, 'data-postgres-0'),
  pod('postgres-v15-0', { 'pgupgrade.kubectl.io/instance': 'postgres-v15' }, 'data-postgres-v15'),
];

test('a Service leads to the pods that carry every label of its selector; no selector, no pods', () => {
  assert.equal(
    podsSelected({ app: 'postgres' }, pods).map((p) => p.metadata.name),
    ['postgres-0'],
  );
  assert.equal(
    podsSelected({ 'pgupgrade.kubectl.io/instance': 'postgres-v15' }, pods).map((p) => p.metadata.name),
    ['postgres-v15-0'],
  );
  assert.equal(podsSelected({}, pods), []);
  assert.equal(podsSelected(undefined, pods), []);
});

test('two Service names for one server are caught through their pods and the volume they mount', () => {
  const viaPrimary = identityOfPods('svc/postgres', 'db', podsSelected({ app: 'postgres' }, pods));
  const viaAlias = identityOfPods(
    'svc/postgres-rw',
    'db',
    podsSelected({ 'statefulset.kubernetes.io/pod-name': 'postgres-0' }, pods),
  );
  assert.equal(viaPrimary, { label: 'svc/postgres', pods: ['db/postgres-0'], volumes: ['db/data-postgres-0'] });
  assert.equal(sameServerReasons(viaPrimary, viaAlias), [
    'svc/postgres and svc/postgres-rw use the same volume (db/data-postgres-0)',
    'svc/postgres and svc/postgres-rw lead to the same pod (db/postgres-0)',
  ]);
  assert.match(sameServerProblem(viaPrimary, viaAlias) ?? '', 'the source and the target are the same server');
  const workload = identityOfPods(
    'sts/postgres-v15',
    'db',
    podsSelected({ 'pgupgrade.kubectl.io/instance': 'postgres-v15' }, pods),
    { workloadUid: 'u2', volumes: ['pv:pvc-2'], systemIdentifier: '7399' },
  );
  assert.equal(workload.volumes, ['db/data-postgres-v15', 'pv:pvc-2']);
  assert.equal(sameServerReasons(viaPrimary, workload), []);
});

test('one workload, one volume, or one system_identifier is enough; two servers pass', () => {
  const a = {
    label: 'sts/postgres',
    workloadUid: 'u1',
    volumes: ['db/data-postgres-0', 'pv:pvc-1'],
    pods: ['db/postgres-0'],
    systemIdentifier: '7301',
  };
  assert.is(sameServerReasons(a, { label: 'x', workloadUid: 'u1' }).length, 1);
  assert.match(sameServerReasons(a, { label: 'x', volumes: ['pv:pvc-1'] })[0] ?? '', 'the same volume (pv:pvc-1)');
  assert.match(sameServerReasons(a, { label: 'x', systemIdentifier: '7301' })[0] ?? '', 'a copy of its files');
  const b = {
    label: 'sts/postgres-v15',
    workloadUid: 'u2',
    volumes: ['db/data-postgres-v15'],
    pods: ['db/postgres-v15-0'],
    systemIdentifier: '7399',
  };
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
