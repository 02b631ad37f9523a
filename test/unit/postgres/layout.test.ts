import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container, PodSpec } from '../../../src/k8s/pod-spec.ts';
import { judgeLayout } from '../../../src/postgres/layout.ts';

const c = (image: string, extra: Partial<Container> = {}): Container => ({ name: 'db', image, ...extra });
const env = (pairs: Record<string, string>) => Object.entries(pairs).map(([name, value]) => ({ name, value }));
const pod = (runAsUser?: number): PodSpec => ({ containers: [], securityContext: { runAsUser, fsGroup: runAsUser } });

test("a Bitnami layout under a vendor's name is judged from the pod: PGDATA, the mount, the variables, the UID", () => {
  const devtron = 'quay.io/devtron/postgres:14.9.0-debian-11-r31';
  assert.equal(judgeLayout(c(devtron, { env: env({ PGDATA: '/bitnami/postgresql/data' }) }), undefined), {
    flavour: 'bitnami',
    evidence: 'PGDATA /bitnami/postgresql/data is under /bitnami',
  });
  assert.equal(
    judgeLayout(c(devtron, { volumeMounts: [{ name: 'data', mountPath: '/bitnami/postgresql' }] }), undefined),
    { flavour: 'bitnami', evidence: 'a volume is mounted at /bitnami/postgresql' },
  );
  assert.equal(
    judgeLayout(
      c(devtron, { env: env({ POSTGRESQL_PORT_NUMBER: '5432', POSTGRESQL_VOLUME_DIR: '/data' }) }),
      undefined,
    ),
    { flavour: 'bitnami', evidence: "Bitnami's variables POSTGRESQL_PORT_NUMBER, POSTGRESQL_VOLUME_DIR" },
  );
  assert.equal(judgeLayout(c(devtron), pod(1001)), { flavour: 'bitnami', evidence: "it runs as UID 1001, Bitnami's" });
  assert.is(
    judgeLayout(
      c('cciserver.azurecr.io/circleci/server-postgres:12.16.1', {
        env: env({ POSTGRESQL_DATA_DIR: '/bitnami/postgresql/data' }),
      }),
      undefined,
    ).flavour,
    'bitnami',
  );
});

test("the official layout under other names; the repository's name only when the pod says nothing", () => {
  assert.equal(
    judgeLayout(
      c('registry.gitlab.com/gitlab-org/build/cng/postgresql:16', {
        env: env({ PGDATA: '/var/lib/postgresql/data/pgdata' }),
      }),
      undefined,
    ),
    { flavour: 'official', evidence: 'PGDATA /var/lib/postgresql/data/pgdata is under /var/lib/postgresql' },
  );
  assert.is(judgeLayout(c('postgres:15-alpine'), pod(70)).flavour, 'official');
  assert.equal(
    judgeLayout(c('acme/db:15', { volumeMounts: [{ name: 'd', mountPath: '/var/lib/postgresql/data' }] }), undefined),
    { flavour: 'official', evidence: 'a volume is mounted at /var/lib/postgresql/data' },
  );
  assert.equal(judgeLayout(c('bitnami/postgresql:16.4.0'), undefined), {
    flavour: 'bitnami',
    evidence: "by the repository's name",
  });
  assert.equal(judgeLayout(c('acme/db:15', { env: env({ PGDATA: '/data/pg' }) }), undefined), {
    flavour: 'vendor',
    evidence: 'nothing in the pod names a known layout',
  });
  assert.is(
    judgeLayout(c('bitnami/postgresql:16', { env: env({ PGDATA: '/var/lib/postgresql/data' }) }), undefined).flavour,
    'official',
    'where the data lives outweighs the name',
  );
});

test.run();
