import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Cluster, KObject, ObjectRef } from '../../src/k8s/cluster.ts';
import { cleanupPermissions, describePermissions, permissionsForMethod, PERMISSIONS } from '../../src/rbac.ts';
import { findDump } from '../../src/commands/cleanup/dump-tasks.ts';
import type { DumpState } from '../../src/state/dump-state.ts';
import type { SourceDiscovery } from '../../src/discovery/discover.ts';

const test = suite('RBAC: each command asks for what it does, and reads no more than it needs');

const lines = (cmd: string) => describePermissions(PERMISSIONS[cmd] ?? []);

test("upgrade creates a Secret (the key that seals its records; by dump, the new instance's superuser): create secrets, for every method", () => {
  assert.ok(lines('upgrade').includes('create secrets'));
  for (const m of ['dump', 'link', 'copy'])
    assert.ok(describePermissions(permissionsForMethod(m)).includes('create secrets'), m);
  for (const cmd of ['check', 'validate'])
    assert.not.ok(lines(cmd).includes('create secrets'), `${cmd} makes no Secret`);
});

test("snapshot --verify keeps a fingerprint whose checksums are keyed by the namespace's key, made on first use: create secrets", () => {
  assert.ok(lines('snapshot').includes('create secrets'));
});

test("check reads a crash-looping database's log: get pods/log", () => {
  assert.ok(lines('check').includes('get pods/log'));
});

test("cleanup after a dump's rollback reads the superuser Secret's metadata only, never its data", async () => {
  assert.ok(describePermissions(cleanupPermissions(true)).includes('get secrets'));
  const asked: string[] = [];
  const cluster = {
    listObjects: async () => [],
    listPods: async () => [],
    getWorkload: async () => undefined,
    readObject: async (r: ObjectRef) => {
      asked.push(`read ${r.kind}`);
      return r.kind === 'Secret'
        ? { apiVersion: 'v1', kind: 'Secret', metadata: { name: r.name }, data: { password: 'c2VjcmV0' } }
        : undefined;
    },
    secretMetadata: async (_ns: string, name: string): Promise<KObject> => {
      asked.push('metadata Secret');
      return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name, labels: { a: 'b' } } };
    },
  } as unknown as Cluster;
  const d = {
    namespace: 'ns',
    workload: { kind: 'Deployment', metadata: { name: 'postgres' }, selector: { app: 'postgres' } },
    pvc: { metadata: { name: 'data' } },
  } as unknown as SourceDiscovery;
  const s = {
    phase: 'rolled-back',
    pvc: 'data',
    target: {
      kind: 'Deployment',
      name: 'postgres-v14',
      pvc: 'data-v14',
      service: 'postgres-v14',
      secret: 'postgres-v14-superuser',
    },
  } as unknown as DumpState;
  const f = await findDump(cluster, d, s);
  assert.ok(asked.includes('metadata Secret'), asked.join(', '));
  assert.not.ok(asked.includes('read Secret'), 'the whole Secret was read');
  assert.is(JSON.stringify(f.target?.secret).includes('c2VjcmV0'), false);
});

test.run();
