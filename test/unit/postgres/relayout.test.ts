import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container } from '../../../src/k8s/pod-spec.ts';
import { relayoutFor, relayoutNote, withDataLayout } from '../../../src/postgres/relayout.ts';

const official = (env: Container['env'] = []): Container => ({
  name: 'postgres',
  image: 'postgres:15',
  env,
  volumeMounts: [
    { name: 'data', mountPath: '/var/lib/postgresql/data' },
    { name: 'run', mountPath: '/var/run/postgresql' },
  ],
});

test('PGDATA in a directory of the volume: nothing to change', () => {
  assert.is(
    relayoutFor(
      {
        pgdata: '/var/lib/postgresql/data/pgdata',
        mountPath: '/var/lib/postgresql/data',
        flavour: 'official',
        container: official(),
      },
      17,
    ),
    undefined,
  );
});

test("the official default (the claim at /var/lib/postgresql/data, no PGDATA): 18's layout, the claim one level up", () => {
  const r = relayoutFor(
    {
      pgdata: '/var/lib/postgresql/data',
      mountPath: '/var/lib/postgresql/data/',
      flavour: 'official',
      container: official(),
    },
    17,
  );
  assert.equal(r, {
    fromMount: '/var/lib/postgresql/data',
    toMount: '/var/lib/postgresql',
    pgdata: '/var/lib/postgresql/17/docker',
    pgdataEnv: null,
  });
  assert.match(relayoutNote(r as never), 'PGDATA /var/lib/postgresql/data is the root of its volume');
  assert.match(
    relayoutNote(r as never),
    'the claim is mounted at /var/lib/postgresql, PGDATA=/var/lib/postgresql/17/docker',
  );
});

test('another mount path with PGDATA set to it: the claim stays, PGDATA moves into it; the old entry is recorded', () => {
  const c: Container = {
    name: 'db',
    env: [{ name: 'PGDATA', value: '/pgdata' }],
    volumeMounts: [{ name: 'd', mountPath: '/pgdata' }],
  };
  assert.equal(relayoutFor({ pgdata: '/pgdata', mountPath: '/pgdata', flavour: 'vendor', container: c }, 18), {
    fromMount: '/pgdata',
    toMount: '/pgdata',
    pgdata: '/pgdata/18/docker',
    pgdataEnv: '/pgdata',
  });
});

test("Bitnami's scripts cannot have their data directory moved: refused", () => {
  assert.is(
    relayoutFor(
      { pgdata: '/bitnami/postgresql', mountPath: '/bitnami/postgresql', flavour: 'bitnami', container: official() },
      17,
    ),
    'bitnami',
  );
});

test("withDataLayout changes the database container's data mount, PGDATA and image only, and back", () => {
  const sidecar: Container = {
    name: 'exporter',
    image: 'exporter:1',
    volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
  };
  const before = [official([{ name: 'TZ', value: 'UTC' }]), sidecar];
  const after = withDataLayout(
    before,
    'postgres',
    { mountPath: '/var/lib/postgresql/data', pgdata: null },
    { mountPath: '/var/lib/postgresql', pgdata: '/var/lib/postgresql/17/docker' },
    'postgres:17',
  );
  assert.equal(after[0], {
    name: 'postgres',
    image: 'postgres:17',
    env: [
      { name: 'TZ', value: 'UTC' },
      { name: 'PGDATA', value: '/var/lib/postgresql/17/docker' },
    ],
    volumeMounts: [
      { name: 'data', mountPath: '/var/lib/postgresql' },
      { name: 'run', mountPath: '/var/run/postgresql' },
    ],
  });
  assert.is(after[1], sidecar);
  const back = withDataLayout(
    after,
    'postgres',
    { mountPath: '/var/lib/postgresql', pgdata: '/var/lib/postgresql/17/docker' },
    { mountPath: '/var/lib/postgresql/data', pgdata: null },
    'postgres:15',
  );
  assert.equal(back, before);
  // A PGDATA entry keeps its place among the others.
  const set = withDataLayout(
    [
      official([
        { name: 'PGDATA', value: '/x' },
        { name: 'TZ', value: 'UTC' },
      ]),
    ],
    'postgres',
    { mountPath: '/var/lib/postgresql/data', pgdata: '/x' },
    { mountPath: '/var/lib/postgresql/data', pgdata: '/y' },
  );
  assert.equal(set[0]?.env, [
    { name: 'PGDATA', value: '/y' },
    { name: 'TZ', value: 'UTC' },
  ]);
});

test.run();
