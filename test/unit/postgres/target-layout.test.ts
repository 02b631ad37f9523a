import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container } from '../../../src/k8s/pod-spec.ts';
import { isSameFamily, targetEnv, targetFamily, targetLayoutFor } from '../../../src/postgres/target-layout.ts';

const test = suite("the dump method's new instance takes its image family's layout, whatever the source's was");

const su = { user: 'admin', secret: { name: 'postgres', key: 'admin-pass' } };
const password = { valueFrom: { secretKeyRef: { name: 'postgres', key: 'admin-pass' } } };

test("the family: the official or Bitnami repository by name; a vendor's image keeps the source's", () => {
  assert.is(targetFamily('postgres:17', 'bitnami'), 'official');
  assert.is(targetFamily('docker.io/bitnamilegacy/postgresql:17.6.0-debian-12-r4', 'official'), 'bitnami');
  assert.is(targetFamily('cciserver.azurecr.io/circleci/server-postgres:14.22', 'bitnami'), 'bitnami');
  assert.is(targetFamily('quay.io/acme/pg:15', 'vendor'), 'official');
  assert.ok(isSameFamily('vendor', 'official'));
  assert.not.ok(isSameFamily('bitnami', 'official'));
});

test('official up to 17: UID 999, PGDATA in a directory of the claim at /var/lib/postgresql/data, POSTGRES_* from the Secret', () => {
  const l = targetLayoutFor('postgres:17', 'bitnami', 17, su);
  assert.equal(
    [l.uid, l.gid, l.mountPath, l.pgdata, l.superuser],
    [999, 999, '/var/lib/postgresql/data', '/var/lib/postgresql/data/pgdata', 'admin'],
  );
  assert.equal(l.env, [
    { name: 'POSTGRES_USER', value: 'admin' },
    { name: 'POSTGRES_PASSWORD', ...password },
    { name: 'POSTGRES_DB', value: 'postgres' },
    { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
  ]);
  assert.equal(l.probeCommand, ['pg_isready', '-U', 'admin', '-h', '127.0.0.1', '-p', '5432']);
});

test("official 18: the image's own layout, the claim at /var/lib/postgresql; Alpine runs as 70", () => {
  const l = targetLayoutFor('postgres:18', 'official', 18, su);
  assert.equal([l.mountPath, l.pgdata], ['/var/lib/postgresql', '/var/lib/postgresql/18/docker']);
  assert.is(targetLayoutFor('postgres:16-alpine', 'official', 16, su).uid, 70);
});

test('Bitnami: UID 1001, /bitnami/postgresql, the superuser is postgres with POSTGRESQL_PASSWORD', () => {
  const l = targetLayoutFor('bitnamilegacy/postgresql:17.6.0-debian-12-r4', 'bitnami', 17, su);
  assert.equal(
    [l.uid, l.mountPath, l.pgdata, l.superuser],
    [1001, '/bitnami/postgresql', '/bitnami/postgresql/data', 'postgres'],
  );
  assert.equal(l.env.slice(0, 3), [
    { name: 'POSTGRESQL_USERNAME', value: 'postgres' },
    { name: 'POSTGRESQL_PASSWORD', ...password },
    { name: 'POSTGRESQL_DATABASE', value: 'postgres' },
  ]);
});

test("md5 roles coming over: the official entrypoint writes md5 into pg_hba (which accepts SCRAM too), not 14's scram-sha-256", () => {
  assert.equal(targetLayoutFor('postgres:17', 'official', 17, su, true).env.at(-1), {
    name: 'POSTGRES_HOST_AUTH_METHOD',
    value: 'md5',
  });
  assert.not.ok(
    targetLayoutFor('postgres:17', 'official', 17, su).env.some((e) => e.name === 'POSTGRES_HOST_AUTH_METHOD'),
  );
  const own: Container = { name: 'postgres', env: [{ name: 'POSTGRES_HOST_AUTH_METHOD', value: 'scram-sha-256' }] };
  const env = targetEnv(own, 'official', targetLayoutFor('postgres:17', 'official', 17, su, true));
  assert.equal(
    env.filter((e) => e.name === 'POSTGRES_HOST_AUTH_METHOD'),
    [{ name: 'POSTGRES_HOST_AUTH_METHOD', value: 'md5' }],
    'one entry, ours',
  );
});

test("the environment: the same family keeps the source's settings, not what the layout decides; another family, the layout's only", () => {
  const source: Container = {
    name: 'postgres',
    env: [
      { name: 'TZ', value: 'Europe/Budapest' },
      { name: 'PGDATA', value: '/var/lib/postgresql/data/x' },
      { name: 'POSTGRES_DB', value: 'app' },
      { name: 'POSTGRES_PASSWORD_FILE', value: '/run/pw' },
      { name: 'POSTGRES_INITDB_ARGS', value: '--data-checksums' },
    ],
  };
  const official = targetLayoutFor('postgres:15', 'official', 15, su);
  assert.equal(
    targetEnv(source, 'official', official).map((e) => e.name),
    ['TZ', 'POSTGRES_INITDB_ARGS', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB', 'PGDATA'],
  );
  const bitnamiSource: Container = {
    name: 'postgresql',
    env: [
      { name: 'POSTGRESQL_USERNAME', value: 'app' },
      { name: 'POSTGRESQL_MAX_CONNECTIONS', value: '300' },
    ],
  };
  assert.equal(targetEnv(bitnamiSource, 'bitnami', official), official.env);
  const bitnami = targetLayoutFor('bitnami/postgresql:16', 'bitnami', 16, su);
  assert.equal(
    targetEnv(bitnamiSource, 'bitnami', bitnami).map((e) => e.name),
    [
      'POSTGRESQL_MAX_CONNECTIONS',
      'POSTGRESQL_USERNAME',
      'POSTGRESQL_PASSWORD',
      'POSTGRESQL_DATABASE',
      'POSTGRESQL_DATA_DIR',
    ],
  );
});

test("the source's default locale for initdb, in the family's variable, after the source's own arguments in the same family", () => {
  const locale = ['--encoding=UTF8', '--lc-collate=C', '--lc-ctype=C'];
  const official = targetLayoutFor('postgres:17', 'bitnami', 17, su, false, locale);
  assert.equal(official.env.at(-1), {
    name: 'POSTGRES_INITDB_ARGS',
    value: '--encoding=UTF8 --lc-collate=C --lc-ctype=C',
  });
  const bitnami = targetLayoutFor('bitnamilegacy/postgresql:17.6.0-debian-12-r4', 'bitnami', 17, su, false, locale);
  assert.equal(bitnami.env.at(-1), {
    name: 'POSTGRESQL_INITDB_ARGS',
    value: '--encoding=UTF8 --lc-collate=C --lc-ctype=C',
  });
  assert.not.ok(
    targetLayoutFor('postgres:17', 'official', 17, su).env.some((e) => e.name === 'POSTGRES_INITDB_ARGS'),
    'none when unknown',
  );
  const own: Container = { name: 'postgres', env: [{ name: 'POSTGRES_INITDB_ARGS', value: '--data-checksums' }] };
  assert.equal(
    targetEnv(own, 'official', targetLayoutFor('postgres:17', 'official', 17, su, false, locale)).filter(
      (e) => e.name === 'POSTGRES_INITDB_ARGS',
    ),
    [{ name: 'POSTGRES_INITDB_ARGS', value: '--data-checksums --encoding=UTF8 --lc-collate=C --lc-ctype=C' }],
  );
  assert.equal(
    targetEnv(own, 'bitnami', official).filter((e) => /INITDB/.test(e.name)),
    [official.env.at(-1)],
    "another family's variables mean nothing",
  );
});

test.run();
