import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { endpointsOf, hostEntries, selects, type PodView } from '../../support/agent/dns.ts';
import { hostsFileText } from '../../support/agent/network.ts';

const pod = (
  name: string,
  ns: string,
  labels: Record<string, string>,
  ip: string,
  extra: Partial<PodView> = {},
): PodView => ({
  name,
  namespace: ns,
  labels,
  ip,
  ready: true,
  terminating: false,
  ...extra,
});

test('an empty selector selects nothing (as a Service without selector has no managed endpoints)', () => {
  assert.is(selects({}, { a: '1' }), false);
  assert.is(selects(undefined, { a: '1' }), false);
  assert.is(selects({ a: '1' }, { a: '1', b: '2' }), true);
  assert.is(selects({ a: '1', c: '3' }, { a: '1' }), false);
});

test('endpoints: ready, not terminating, same namespace, with an IP', () => {
  const pods = [
    pod('b', 'db', { app: 'pg' }, '10.0.0.3'),
    pod('a', 'db', { app: 'pg' }, '10.0.0.2', { ready: false }),
    pod('c', 'db', { app: 'pg' }, '10.0.0.4', { terminating: true }),
    pod('d', 'other', { app: 'pg' }, '10.0.0.5'),
    pod('e', 'db', { app: 'pg' }, '10.0.0.6'),
  ];
  assert.equal(
    endpointsOf({ name: 's', namespace: 'db', selector: { app: 'pg' } }, pods).map((p) => p.name),
    ['b', 'e'],
  );
});

test('names: short only in the own namespace, qualified everywhere, StatefulSet pod names', () => {
  const pods = [
    pod('postgresql-0', 'db', { app: 'pg' }, '10.0.0.2', { hostname: 'postgresql-0', subdomain: 'postgresql-hl' }),
  ];
  const svcs = [
    { name: 'postgresql', namespace: 'db', selector: { app: 'pg' } },
    { name: 'postgresql-hl', namespace: 'db', selector: { app: 'pg' } },
  ];
  const inDb = hostEntries('db', undefined, svcs, pods);
  assert.ok(inDb.some((e) => e.ip === '10.0.0.2' && e.names.includes('postgresql')));
  assert.ok(inDb.some((e) => e.names.includes('postgresql-0.postgresql-hl.db.svc.cluster.local')));
  const elsewhere = hostEntries('app', undefined, svcs, pods);
  assert.not.ok(elsewhere.some((e) => e.names.includes('postgresql')));
  assert.ok(
    elsewhere.some((e) => e.names.includes('postgresql.db.svc.cluster.local') && e.names.includes('postgresql.db')),
  );
});

test('a selector change moves the name to the newly selected pod', () => {
  const pods = [pod('old', 'db', { v: '12' }, '10.0.0.2'), pod('new', 'db', { v: '14' }, '10.0.0.3')];
  const before = hostEntries('db', undefined, [{ name: 'pg', namespace: 'db', selector: { v: '12' } }], pods);
  const after = hostEntries('db', undefined, [{ name: 'pg', namespace: 'db', selector: { v: '14' } }], pods);
  assert.is(before[0]?.ip, '10.0.0.2');
  assert.is(after[0]?.ip, '10.0.0.3');
});

test('the hosts file keeps localhost and lists each address once', () => {
  const text = hostsFileText([
    { ip: '10.0.0.2', names: ['a', 'a.ns'] },
    { ip: '10.0.0.9', names: [] },
  ]);
  assert.match(text, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(text, /^10\.0\.0\.2\ta a\.ns$/m);
  assert.not.match(text, '10.0.0.9');
});

test.run();
