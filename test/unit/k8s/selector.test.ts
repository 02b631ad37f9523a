import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../../src/exit-codes.ts';
import { labelSelectorString, labelsMatch, parseSelector, workloadPods } from '../../../src/k8s/selector.ts';
import type { Pod, Workload } from '../../../src/k8s/cluster.ts';
import { podsOutside } from '../../../src/discovery/named-apps.ts';

const test = suite('--app-selector');

function refused(s: string): string {
  try {
    parseSelector(s);
  } catch (err) {
    assert.instance(err, CliError);
    assert.is((err as CliError).exitCode, 2);
    return (err as Error).message;
  }
  throw new Error(`"${s}" was accepted`);
}

test('equality terms, as kubectl reads them', () => {
  assert.equal(parseSelector('layer=application'), { layer: 'application' });
  assert.equal(parseSelector(' app.kubernetes.io/part-of == shop , tier=web'), {
    'app.kubernetes.io/part-of': 'shop',
    tier: 'web',
  });
  assert.equal(parseSelector('flag='), { flag: '' }, 'an empty value is a value');
});

test('an empty selector, which would match (and scale down) every workload, is refused', () => {
  assert.match(refused(''), /matches every workload/);
  assert.match(refused('  '), /matches every workload/);
});

test('set-based and negative terms, which select what the user did not name, are refused', () => {
  for (const s of ['tier!=db', '!canary', 'tier in (web,api)', 'tier notin (db)', 'layer=application,tier!=db']) {
    assert.match(refused(s), /not an equality term/, s);
  }
  assert.match(refused('layer'), /is not key=value/);
  assert.match(refused('a=b=c'), /is not key=value/);
  assert.match(refused('layer=application,'), /is not key=value/, 'an empty term');
});

test('keys and values must be valid labels', () => {
  assert.match(refused('-bad=x'), /not a label name/);
  assert.match(refused(`${'k'.repeat(64)}=x`), /not a label name/);
  assert.match(refused('Example.COM/k=x'), /not a DNS subdomain/);
  assert.match(refused('k=bad value'), /is not key=value/);
  assert.match(refused('k=-x'), /not a label value/);
  assert.match(refused('k=a,k=b'), /twice/);
});

const EXPR = [
  { key: 'app', operator: 'In', values: ['pg', 'postgres'] },
  { key: 'tier', operator: 'NotIn', values: ['cache'] },
  { key: 'db', operator: 'Exists' },
  { key: 'canary', operator: 'DoesNotExist' },
];

test('a workload selected by matchExpressions only: the label selector string has every term, not nothing', () => {
  assert.is(labelSelectorString({}, EXPR), 'app in (pg,postgres),tier notin (cache),db,!canary');
  assert.is(
    labelSelectorString({ role: 'primary' }, [EXPR[0] as (typeof EXPR)[0]]),
    'role=primary,app in (pg,postgres)',
  );
  assert.is(labelSelectorString({ a: 'b' }), 'a=b');
  assert.throws(() => labelSelectorString({}, [{ key: 'x', operator: 'Gt', values: ['1'] }]), /operator Gt of key x/);
});

test("matchExpressions decide which pods are the workload's: In, NotIn, Exists, DoesNotExist", () => {
  assert.ok(labelsMatch({ app: 'pg', db: '' }, {}, EXPR));
  assert.not.ok(labelsMatch({ app: 'web', db: '' }, {}, EXPR), 'In');
  assert.not.ok(labelsMatch({ app: 'pg', db: '', tier: 'cache' }, {}, EXPR), 'NotIn');
  assert.not.ok(labelsMatch({ app: 'pg' }, {}, EXPR), 'Exists');
  assert.not.ok(labelsMatch({ app: 'pg', db: '', canary: 'x' }, {}, EXPR), 'DoesNotExist');
  assert.not.ok(labelsMatch(undefined, {}, [{ key: 'x', operator: 'Gt' }]), 'an unknown operator selects nothing');
  const pod = (name: string, labels: Record<string, string>) =>
    ({ metadata: { name, labels }, spec: {}, phase: 'Running', ready: true, restarts: {} }) as unknown as Pod;
  const db = {
    kind: 'StatefulSet',
    metadata: { name: 'pg' },
    replicas: 1,
    selector: {},
    matchExpressions: EXPR,
    template: { spec: { containers: [] } },
    volumeClaimTemplates: [],
  } as unknown as Workload;
  const pods = [pod('pg-0', { app: 'pg', db: 'x' }), pod('web-1', { app: 'web' })];
  assert.equal(
    workloadPods(db, pods).map((p) => p.metadata.name),
    ['pg-0'],
    'not every pod of the namespace',
  );
  assert.equal(
    podsOutside(pods, [], db).map((p) => p.metadata.name),
    ['web-1'],
  );
});

test.run();
