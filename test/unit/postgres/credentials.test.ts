import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container, PodSpec } from '../../../src/k8s/pod-spec.ts';
import { expansionPieces } from '../../../src/postgres/env-expansion.ts';
import {
  envSources,
  isHbaRefusal,
  parseSecretKeyRef,
  superuserOf,
  superuserVars,
  varSources,
} from '../../../src/postgres/credentials.ts';

const ref = { valueFrom: { secretKeyRef: { name: 's', key: 'k' } } };
const spec = (c: Container, volumes: PodSpec['volumes'] = []): PodSpec => ({ containers: [c], volumes });

test('env entries: the superuser and its Secret, the Bitnami app user beside postgres, a password written in the manifest', () => {
  const official = {
    name: 'c',
    env: [
      { name: 'POSTGRES_USER', value: 'kong' },
      { name: 'POSTGRES_PASSWORD', ...ref },
    ],
  };
  assert.equal(superuserOf(spec(official), official, 'official'), {
    user: 'kong',
    env: 'POSTGRES_PASSWORD',
    secret: { name: 's', key: 'k' },
    via: 'env POSTGRES_PASSWORD (secretKeyRef)',
  });
  const app = {
    name: 'c',
    env: [
      { name: 'POSTGRES_USER', value: 'app' },
      { name: 'POSTGRES_PASSWORD', ...ref },
    ],
  };
  assert.is(
    superuserOf(spec(app), app, 'bitnami'),
    undefined,
    "with an app user, Bitnami's POSTGRES_PASSWORD is that user's, not the superuser's",
  );
  const both = {
    name: 'c',
    env: [
      ...app.env,
      { name: 'POSTGRES_POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'postgres-password' } } },
    ],
  };
  assert.equal(superuserOf(spec(both), both, 'bitnami')?.secret, { name: 's', key: 'postgres-password' });
  assert.is(superuserOf(spec(both), both, 'bitnami')?.user, 'postgres');
  const inline = { name: 'c', env: [{ name: 'POSTGRES_PASSWORD', value: 'inline' }] };
  assert.is(superuserOf(spec(inline), inline, 'official')?.literal, true);
  assert.equal(
    superuserVars('bitnami', 'postgres').passwordVars,
    ['POSTGRES_PASSWORD', 'POSTGRESQL_PASSWORD'],
    'POSTGRES_USER=postgres is no app user',
  );
});

test('envFrom: the last source wins, an env entry wins over all of them, and a prefix is taken off the key', () => {
  const c: Container = {
    name: 'c',
    envFrom: [
      { secretRef: { name: 'first' } },
      { configMapRef: { name: 'cm' } },
      { prefix: 'DB_', secretRef: { name: 'pre' } },
      { secretRef: { name: 'last' } },
    ],
  };
  const show = (name: string) =>
    envSources(c, name).map((s) =>
      s.kind === 'secret' || s.kind === 'configMap' ? `${s.kind} ${s.name}/${s.key}` : s.kind,
    );
  assert.equal(show('POSTGRES_PASSWORD'), [
    'secret last/POSTGRES_PASSWORD',
    'configMap cm/POSTGRES_PASSWORD',
    'secret first/POSTGRES_PASSWORD',
  ]);
  assert.equal(show('DB_PASS'), [
    'secret last/DB_PASS',
    'secret pre/PASS',
    'configMap cm/DB_PASS',
    'secret first/DB_PASS',
  ]);
  assert.equal(envSources({ ...c, env: [{ name: 'POSTGRES_PASSWORD', ...ref }] }, 'POSTGRES_PASSWORD').length, 1);
  assert.match(superuserOf(spec(c), c, 'official')?.via ?? '', 'POSTGRES_PASSWORD through envFrom of Secret last');
});

test('*_FILE: the Secret key behind the file, through a Secret volume (items or not), a projected volume or a subPath; else unreadable', () => {
  const file = (path: string, mounts: Container['volumeMounts'], volumes: PodSpec['volumes']) => {
    const c: Container = { name: 'c', env: [{ name: 'POSTGRES_PASSWORD_FILE', value: path }], volumeMounts: mounts };
    return varSources(spec(c, volumes), c, 'POSTGRES_PASSWORD').map((s) =>
      s.kind === 'secret' ? `${s.name}/${s.key}` : s.via,
    );
  };
  // Bitnami chart 16: the chart's Secret at /opt/bitnami/postgresql/secrets, one file per key.
  assert.equal(
    file(
      '/opt/bitnami/postgresql/secrets/postgres-password',
      [{ name: 'postgresql-password', mountPath: '/opt/bitnami/postgresql/secrets/' }],
      [{ name: 'postgresql-password', secret: { secretName: 'pg' } }],
    ),
    ['pg/postgres-password'],
  );
  assert.equal(
    file(
      '/run/secrets/pw',
      [{ name: 's', mountPath: '/run/secrets' }],
      [{ name: 's', secret: { secretName: 'pg', items: [{ key: 'admin-pass', path: 'pw' }] } }],
    ),
    ['pg/admin-pass'],
  );
  assert.equal(
    file(
      '/etc/pw',
      [{ name: 's', mountPath: '/etc/pw', subPath: 'admin-pass' }],
      [{ name: 's', secret: { secretName: 'pg' } }],
    ),
    ['pg/admin-pass'],
  );
  assert.equal(
    file(
      '/creds/password',
      [{ name: 'p', mountPath: '/creds' }],
      [
        {
          name: 'p',
          projected: {
            sources: [{ secret: { name: 'a' } }, { secret: { name: 'b', items: [{ key: 'k', path: 'other' }] } }],
          },
        },
      ],
    ),
    ['a/password'],
  );
  assert.match(
    file('/creds/password', [{ name: 'csi', mountPath: '/creds' }], [{ name: 'csi' }])[0] ?? '',
    'POSTGRES_PASSWORD_FILE=/creds/password is on volume csi, which holds no Secret key at password',
  );
  assert.match(file('/nowhere/pw', [], [])[0] ?? '', 'POSTGRES_PASSWORD_FILE=/nowhere/pw: no volume is mounted there');
});

test('--superuser-secret name/key', () => {
  assert.equal(parseSecretKeyRef('postgresql/postgres-password'), { name: 'postgresql', key: 'postgres-password' });
  for (const bad of ['postgresql', 'a/b/c', '/k', 'Bad_Name/k', 's/'])
    assert.throws(() => parseSecretKeyRef(bad), /expected <secret name>\/<key>/);
});

test('$(VAR) in an env value: split as the kubelet reads it ($$ escapes, an unclosed or bare $ stays text)', () => {
  assert.equal(expansionPieces('$(A)'), [{ ref: 'A' }]);
  assert.equal(expansionPieces('x$(A)y$(B)'), [{ text: 'x' }, { ref: 'A' }, { text: 'y' }, { ref: 'B' }]);
  assert.equal(expansionPieces('$$(A) $x $( $'), [{ text: '$(A) $x $( $' }]);
  assert.equal(expansionPieces('a$$$(B)'), [{ text: 'a$' }, { ref: 'B' }]);
});

test('$(VAR) in the password: resolved from the entries above it (a Secret, a value, envFrom), else refused, never taken as the password', () => {
  const pw = (env: Container['env'], envFrom?: Container['envFrom']) => {
    const c: Container = { name: 'c', env, envFrom };
    return envSources(c, 'POSTGRES_PASSWORD').map((s) =>
      s.kind === 'secret'
        ? `secret ${s.name}/${s.key}`
        : s.kind === 'value'
          ? `value ${s.value}`
          : `${s.kind}: ${s.via}`,
    );
  };
  const ref2 = { valueFrom: { secretKeyRef: { name: 'db', key: 'pass' } } };
  assert.equal(
    pw([
      { name: 'DB_PASS', ...ref2 },
      { name: 'POSTGRES_PASSWORD', value: '$(DB_PASS)' },
    ]),
    ['secret db/pass'],
  );
  assert.equal(
    pw([
      { name: 'A', ...ref2 },
      { name: 'B', value: '$(A)' },
      { name: 'POSTGRES_PASSWORD', value: '$(B)' },
    ]),
    ['secret db/pass'],
    'a chain of references',
  );
  assert.equal(
    pw([
      { name: 'P', value: 'pre' },
      { name: 'POSTGRES_PASSWORD', value: '$(P)-$$(P)' },
    ]),
    ['value pre-$(P)'],
  );
  assert.equal(
    pw([{ name: 'POSTGRES_PASSWORD', value: '$(DB_PASS)' }], [{ secretRef: { name: 'all' } }]),
    ['secret all/DB_PASS'],
    'envFrom is set before every env entry',
  );
  const below = pw([
    { name: 'POSTGRES_PASSWORD', value: '$(DB_PASS)' },
    { name: 'DB_PASS', ...ref2 },
  ]);
  assert.equal(below.length, 1);
  assert.match(
    below[0] ?? '',
    /^refused: env POSTGRES_PASSWORD refers to \$\(DB_PASS\), which neither an env entry above it nor envFrom sets.*define DB_PASS in an env entry above POSTGRES_PASSWORD.*--superuser-secret/,
  );
  assert.match(
    pw([
      { name: 'DB_PASS', ...ref2 },
      { name: 'POSTGRES_PASSWORD', value: 'x$(DB_PASS)' },
    ])[0] ?? '',
    /^refused: env POSTGRES_PASSWORD joins text and \$\(DB_PASS\)/,
  );
  const c: Container = { name: 'c', env: [{ name: 'POSTGRES_PASSWORD', value: '$(NOPE)' }] };
  assert.is(
    superuserOf(spec(c), c, 'official'),
    undefined,
    'an unresolved reference is no password written in the manifest',
  );
  const viaRef: Container = {
    name: 'c',
    env: [
      { name: 'DB_PASS', ...ref2 },
      { name: 'POSTGRES_PASSWORD', value: '$(DB_PASS)' },
    ],
  };
  assert.equal(superuserOf(spec(viaRef), viaRef, 'official')?.secret, { name: 'db', key: 'pass' });
});

test("pg_hba.conf turning a login away is told from a wrong password (psql 16's words; the dump refuses it, in place ignores it)", () => {
  const at = 'psql: error: connection to server at "10.88.0.7", port 5432 failed: FATAL:';
  assert.ok(
    isHbaRefusal(
      `${at}  no pg_hba.conf entry for host "10.88.0.7", user "postgres", database "postgres", no encryption`,
    ),
  );
  assert.ok(
    isHbaRefusal(
      `${at}  pg_hba.conf rejects connection for host "10.88.0.7", user "postgres", database "postgres", no encryption`,
    ),
  );
  assert.not.ok(isHbaRefusal(`${at}  password authentication failed for user "postgres"`));
  assert.not.ok(isHbaRefusal('psql: error: connection to server at "10.88.0.7", port 5432 failed: Connection refused'));
});

test.run();
