import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { load } from 'js-yaml';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { officialFixture, officialSecret } from '../../support/fixtures/official.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  releaseNamespaces,
  waitReady,
} from '../../support/kube/helpers.ts';
import { execInPod } from '../../support/kube/exec.ts';
import { validateSchema } from '../../support/json-schema.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { repoRoot } from '../../support/paths.ts';
import { waitFor } from '../../support/process.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { permissionsForMethod } from '../../../src/rbac.ts';

const test = suite('kubectl pgupgrade check against real PostgreSQL pods');
const ns = {
  bitnami: uniqueNamespace('chk-bitnami'),
  official: uniqueNamespace('chk-official'),
  broken: uniqueNamespace('chk-broken'),
  rootvol: uniqueNamespace('chk-rootvol'),
  two: uniqueNamespace('chk-two'),
};
const PASSWORDS = ['Bitnami-Check-S3cret', 'Official-Check-S3cret'];
const outputs: RunResult[] = [];
const schema = JSON.parse(fs.readFileSync(path.join(repoRoot, 'docs', 'check-report.schema.json'), 'utf8'));

interface Report {
  checks: Array<{ id: string; status: string; found: string; fix?: string }>;
  summary: { fail: number };
  discovery: Record<string, unknown>;
}

async function check(cp: ControlPlane, args: string[], kubeconfig = cp.kubeconfig): Promise<RunResult> {
  const r = await runAsync(requireBinary(), ['check', ...args], { KUBECONFIG: kubeconfig });
  outputs.push(r);
  return r;
}

function status(r: Report, id: string): { status: string; found: string; fix?: string } {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${JSON.stringify(r.checks.map((x) => x.id))}`);
  return c;
}

/** uid → resourceVersion of every listable namespaced object except events, which others write. */
async function versions(cp: ControlPlane, namespace: string): Promise<Record<string, string>> {
  const kinds = (await cp.kubectl(['api-resources', '--namespaced', '--verbs=list', '-o', 'name'])).stdout
    .split('\n')
    .filter((k) => k && !k.startsWith('events'));
  const list = JSON.parse((await cp.kubectl(['-n', namespace, 'get', kinds.join(','), '-o', 'json'])).stdout) as {
    items: Array<{ kind: string; metadata: { uid: string; name: string; resourceVersion: string } }>;
  };
  return Object.fromEntries(list.items.map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.resourceVersion]));
}

async function official(
  cp: ControlPlane,
  namespace: string,
  opts: { storage?: string; args?: string[] } = {},
): Promise<string> {
  const objs = [
    officialSecret(namespace, PASSWORDS[1] as string),
    ...officialFixture({ namespace, major: 13, password: PASSWORDS[1] as string, storage: opts.storage }),
  ];
  if (opts.args) {
    const d = objs.find((o) => o.kind === 'Deployment') as {
      spec: { template: { spec: { containers: Array<{ args?: string[] }> } } };
    };
    (d.spec.template.spec.containers[0] as { args?: string[] }).args = opts.args;
  }
  await applyObjects(cp, objs);
  const pod = await podName(cp, namespace, 'k8s-app=postgres');
  await waitReady(cp, namespace, pod);
  return pod;
}

// A database name that psql would read as a connection string, pointing at a listener inside the database pod
// (127.0.0.1 in the pod is the pod): a client that took the name for a connection string would reach it.
const LISTENER_PORT = 5499;
const HOSTILE_DB = `host=127.0.0.1 port=${LISTENER_PORT} dbname=x`;

/** A TCP listener in the pod's network namespace that appends a line to /tmp/listener.hits per connection. */
async function startPodListener(cp: ControlPlane, namespace: string, pod: string): Promise<void> {
  const perl = `$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => ${LISTENER_PORT}, Listen => 5, ReuseAddr => 1) or die $!;
    open(F, ">", "/tmp/listener.up"); close F;
    while ($c = $s->accept) { open(F, ">>", "/tmp/listener.hits"); print F "hit\n"; close F; close $c }`;
  await cp.kubectl([
    '-n',
    namespace,
    'exec',
    pod,
    '--',
    'sh',
    '-c',
    'nohup perl -MIO::Socket::INET -e "$1" </dev/null >/dev/null 2>&1 &',
    'sh',
    perl,
  ]);
  await waitFor(
    'the listener in the pod',
    async () =>
      (await cp.kubectl(['-n', namespace, 'exec', pod, '--', 'test', '-e', '/tmp/listener.up'], { allowFail: true }))
        .code === 0,
    20_000,
  );
}

async function listenerHits(cp: ControlPlane, namespace: string, pod: string): Promise<number> {
  const r = await cp.kubectl([
    '-n',
    namespace,
    'exec',
    pod,
    '--',
    'sh',
    '-c',
    'cat /tmp/listener.hits 2>/dev/null || true',
  ]);
  return r.stdout.split('\n').filter((l) => l === 'hit').length;
}

test('set up: healthy Bitnami and official databases, one built to fail, one on a root-owned volume', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns.bitnami, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  for (const n of [ns.official, ns.broken, ns.rootvol, ns.two]) await createNamespace(cp, n);
  await applyObjects(cp, bitnamiFixture({ namespace: ns.bitnami, major: 13, password: PASSWORDS[0] as string }));
  const [off, broken, rootvol] = await Promise.all([
    official(cp, ns.official),
    official(cp, ns.broken, { args: ['-c', 'max_prepared_transactions=5', '-c', 'wal_level=logical'] }),
    official(cp, ns.rootvol, { storage: '128Mi' }),
  ]);
  await waitReady(cp, ns.bitnami, 'circleci-postgresql-0');
  await seedCluster(podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres'), { rows: 500 });
  await startPodListener(cp, ns.bitnami, 'circleci-postgresql-0');
  await podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres')('postgres', `CREATE DATABASE "${HOSTILE_DB}"`);
  await seedCluster(podSql(cp, ns.official, off, 'admin'), { rows: 500 });
  const sql = podSql(cp, ns.broken, broken, 'admin');
  // The slot first: creating a logical slot waits for every open transaction, a prepared one included.
  await sql('postgres', `SELECT pg_create_logical_replication_slot('cdc', 'test_decoding')`);
  await sql(
    'postgres',
    `CREATE DATABASE odd TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
    CREATE EXTENSION adminpack;
    CREATE ROLE legacy LOGIN PASSWORD 'legacy-md5';
    CREATE FUNCTION fact(bigint) RETURNS numeric LANGUAGE sql AS 'SELECT 1::numeric';
    CREATE OPERATOR #!# (LEFTARG = bigint, FUNCTION = fact);
    CREATE TABLE procs (id int, handler regproc);
    CREATE TABLE tenants_map (k int, v int);
    CREATE FUNCTION tenant_of(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT v FROM tenants_map WHERE k = $1';
    CREATE FUNCTION pinned(int) RETURNS int LANGUAGE sql IMMUTABLE SET search_path = public AS 'SELECT $1';
    CREATE TABLE orders (id int, customer int);
    CREATE INDEX orders_tenant ON orders (tenant_of(customer));
    CREATE INDEX orders_pinned ON orders (pinned(id));
    CREATE TABLE t (x int); BEGIN; INSERT INTO t VALUES (1); PREPARE TRANSACTION 'forgotten';`,
  );
  await sql('postgres', 'CREATE DATABASE "two\nlines"');
  await cp.kubectl(['-n', ns.broken, 'exec', broken, '--', 'mkdir', '/var/lib/postgresql/data/pgdata-12']);
  // An include by PGDATA's absolute path: the in-place Job holds the cluster under another name, where it would not resolve.
  await cp.kubectl([
    '-n',
    ns.broken,
    'exec',
    broken,
    '--',
    'sh',
    '-c',
    'mkdir "$PGDATA/conf.d" && echo "work_mem = \'8MB\'" > "$PGDATA/conf.d/w.conf" && echo "include_dir = \'$PGDATA/conf.d\'" >> "$PGDATA/postgresql.conf"',
  ]);
  await sql('postgres', 'SELECT pg_reload_conf()');
  // Tablespaces inside PGDATA and off the volume (both fail in place), and one on the volume beside PGDATA (fine).
  await cp.kubectl([
    '-n',
    ns.broken,
    'exec',
    broken,
    '--',
    'sh',
    '-c',
    'mkdir "$PGDATA/tbs_in" /tmp/tbs_off /var/lib/postgresql/data/tbs_ok && chown postgres:postgres "$PGDATA/tbs_in" /tmp/tbs_off /var/lib/postgresql/data/tbs_ok',
  ]);
  for (const [name, at] of [
    ['inpgdata', '/var/lib/postgresql/data/pgdata/tbs_in'],
    ['offvolume', '/tmp/tbs_off'],
    ['beside', '/var/lib/postgresql/data/tbs_ok'],
  ]) {
    await sql('postgres', `CREATE TABLESPACE ${name} LOCATION '${at}'`);
  }
  // The volume root as a fresh ext4 filesystem has it: root's, 0755. Then the namespace turns restricted.
  await cp.kubectl(['-n', ns.rootvol, 'exec', rootvol, '--', 'chmod', '0755', '/var/lib/postgresql/data']);
  await cp.kubectl(['label', 'ns', ns.rootvol, 'pod-security.kubernetes.io/enforce=restricted']);
  const two = officialFixture({ namespace: ns.two, major: 13, password: 'x', name: 'postgres-a' }).concat(
    officialFixture({ namespace: ns.two, major: 13, password: 'x', name: 'postgres-b' }),
  );
  for (const o of two) if (o.kind === 'Deployment') (o.spec as { replicas: number }).replicas = 0;
  await applyObjects(cp, two);
});

test('the healthy Bitnami StatefulSet passes; the text report is readable; nothing in the namespace changes', async () => {
  const { cp } = await sharedEnv();
  const before = await versions(cp, ns.bitnami);
  const r = await check(cp, ['-n', ns.bitnami, '--to', '15']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  for (const line of [
    'workload      sts/circleci-postgresql',
    'version       13.',
    'data          /bitnami/postgresql/data on PVC data-circleci-postgresql-0',
    'superuser     postgres (password from Secret circleci-postgresql/postgres-password, not shown)',
    'target        PostgreSQL 15 by link, image tianon/postgres-upgrade:13-to-15',
    'applications  deploy/circleci-frontend',
    'PASS  The superuser can connect',
    'PASS  The upgrade Job can run non-root',
    'initdb options for the new cluster: --encoding=UTF8',
    'estimated downtime: about',
  ])
    assert.ok(r.stdout.includes(line), `report has "${line}":\n${r.stdout}`);
  assert.match(r.stdout, / 0 failed$/m);
  assert.equal(await versions(cp, ns.bitnami), before, 'every object keeps its resourceVersion');
});

test('a database named "host=127.0.0.1 port=<listener> dbname=x" is read as a database; the listener sees no connection', async () => {
  const { cp } = await sharedEnv();
  const pod = 'circleci-postgresql-0';
  const r = await check(cp, ['-n', ns.bitnami, '--to', '15', '-o', 'json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.is(status(rep, 'credentials').status, 'pass');
  assert.is(await listenerHits(cp, ns.bitnami, pod), 0, 'no client connected to the listener');
  // The listener counts: a client that is told to connect there does reach it.
  await cp.kubectl(
    ['-n', ns.bitnami, 'exec', pod, '--', 'psql', '-w', '-U', 'postgres', '-d', HOSTILE_DB, '-c', 'select 1'],
    { allowFail: true },
  );
  assert.is(await listenerHits(cp, ns.bitnami, pod), 1, 'psql -d with that name does connect to the listener');
});

test('the healthy official Deployment passes; -o json validates against docs/check-report.schema.json', async () => {
  const { cp } = await sharedEnv();
  const r = await check(cp, ['-n', ns.official, 'deploy/postgres', '--to', '17', '-o', 'json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(validateSchema(schema, report), []);
  assert.is(report.summary.fail, 0);
  assert.is(status(report, 'config-paths').status, 'pass');
  assert.is(status(report, 'tablespaces').found, 'none but the built-in ones');
  assert.is((report.discovery.superuser as { user: string }).user, 'admin');
  assert.is(report.discovery.pgdata, '/var/lib/postgresql/data/pgdata');
  const y = load((await check(cp, ['-n', ns.official, '--to', '17', '-o', 'yaml'])).stdout) as Report;
  assert.equal(validateSchema(schema, y), [], 'YAML carries the same document');
  assert.equal(
    y.checks.map((c) => [c.id, c.status]),
    report.checks.map((c) => [c.id, c.status]),
  );
});

/**
 * A session in the pod that takes `lock` in an open transaction and sleeps: the promise of its exec (it ends when
 * the session is terminated) and its pid, once the lock is granted.
 */
async function holdLock(
  cp: ControlPlane,
  namespace: string,
  pod: string,
  app: string,
  lock: string,
): Promise<{ pid: string; done: Promise<unknown> }> {
  const sql = podSql(cp, namespace, pod, 'admin');
  const done = execInPod(
    cp.rest,
    namespace,
    pod,
    ['env', `PGAPPNAME=${app}`, 'psql', '-X', '-U', 'admin', '-d', 'postgres', '-f', '-'],
    `BEGIN;\nLOCK TABLE ${lock} IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(600);\n`,
  ).catch(() => undefined);
  const granted = `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = '${app}' AND l.granted AND l.relation = '${lock}'::regclass`;
  let pid = '';
  await waitFor(`${app}'s lock on ${lock}`, async () => (pid = (await sql('postgres', granted)).trim()) !== '', 20_000);
  return { pid, done };
}

const endSession = (cp: ControlPlane, namespace: string, pod: string, app: string) =>
  podSql(
    cp,
    namespace,
    pod,
    'admin',
  )('postgres', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${app}'`);

// check reads only catalogs: an application's lock on its own table never holds it (the second run), but a lock
// on a catalog it reads (as a VACUUM FULL or REINDEX of one holds) did, for ever, under the exec's heartbeat.
test("a lock on a catalog that check reads makes it fail within the lock limit, naming the relation and the blocker's pid; released, check passes", async () => {
  const { cp } = await sharedEnv();
  const pod = await podName(cp, ns.official, 'k8s-app=postgres');
  await podSql(cp, ns.official, pod, 'admin')('postgres', 'CREATE TABLE IF NOT EXISTS public.app_locked (x int)');
  const table = await holdLock(cp, ns.official, pod, 'lock-holder-app', 'public.app_locked');
  try {
    const catalog = await holdLock(cp, ns.official, pod, 'lock-holder-cat', 'pg_catalog.pg_extension');
    const env = { KUBECONFIG: cp.kubeconfig, PGUPGRADE_LOCK_TIMEOUT_MS: '2000' };
    const t = Date.now();
    const r = await runAsync(requireBinary(), ['check', '-n', ns.official, '--to', '17'], env, 60_000);
    outputs.push(r);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.ok(Date.now() - t < 40_000, `check took ${Date.now() - t} ms`);
    const said = r.stdout + r.stderr;
    assert.match(
      said,
      /waited 2 s for a lock and gave up \(lock_timeout; PGUPGRADE_LOCK_TIMEOUT_MS sets the limit\); it changed nothing/,
    );
    assert.match(
      said,
      new RegExp(
        `pid ${catalog.pid} \\(user admin, application "lock-holder-cat", local, active, .*\\) holds ACCESS EXCLUSIVE on pg_catalog\\.pg_extension in database postgres`,
      ),
    );
    assert.match(said, `SELECT pg_terminate_backend(${catalog.pid})`);
    await endSession(cp, ns.official, pod, 'lock-holder-cat');
    await catalog.done;
    const ok = await runAsync(requireBinary(), ['check', '-n', ns.official, '--to', '17'], env, 60_000);
    outputs.push(ok);
    assert.is(ok.code, 0, ok.stdout + ok.stderr);
  } finally {
    await endSession(cp, ns.official, pod, 'lock-holder-cat');
    await endSession(cp, ns.official, pod, 'lock-holder-app');
    await table.done;
    await podSql(cp, ns.official, pod, 'admin')('postgres', 'DROP TABLE IF EXISTS public.app_locked');
  }
});

test("a stale Secret of the official image fails credentials: 127.0.0.1 is trusted there, the pod's own address is not", async () => {
  const { cp } = await sharedEnv();
  const secret = JSON.parse(
    (await cp.kubectl(['-n', ns.official, 'get', 'secret', 'postgres', '-o', 'json'])).stdout,
  ) as { data: Record<string, string> };
  const key = Object.keys(secret.data)[0] as string;
  const patch = (v: string) =>
    cp.kubectl(['-n', ns.official, 'patch', 'secret', 'postgres', '-p', JSON.stringify({ data: { [key]: v } })]);
  await patch(Buffer.from('not-the-password').toString('base64'));
  try {
    const r = await check(cp, ['-n', ns.official, 'deploy/postgres', '--to', '17', '-o', 'json']);
    assert.is(r.code, 3, r.stdout + r.stderr);
    const cred = status(JSON.parse(r.stdout) as Report, 'credentials');
    assert.is(cred.status, 'fail');
    assert.match(
      cred.found,
      /over the pod's own address [0-9.]+, as another pod connects: .*password authentication failed/,
    );
    assert.not.match(r.stdout + r.stderr, 'not-the-password');
  } finally {
    await patch(secret.data[key] as string);
  }
});

test('a database built to fail: collation, prepared transaction, postfix operator, reg* column, logical slot, md5 role, leftovers, a removed extension, a name with a newline', async () => {
  const { cp } = await sharedEnv();
  const r = await check(cp, ['-n', ns.broken, '--to', '15', '-o', 'json']);
  assert.is(r.code, 3, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(validateSchema(schema, rep), []);
  const fails: Record<string, string> = {
    initdb: 'odd',
    'prepared-transactions': '1 prepared',
    'replication-slots': 'cdc',
    leftovers: 'pgdata-12',
    'database-names': '"two\\nlines"',
    'config-paths': 'postgresql.conf:',
    tablespaces: 'inpgdata at /var/lib/postgresql/data/pgdata/tbs_in',
  };
  for (const [id, word] of Object.entries(fails)) {
    const c = status(rep, id);
    assert.is(c.status, 'fail', id);
    assert.ok(c.found.includes(word), `${id} names ${word}: ${c.found}`);
    assert.ok((c.fix ?? '').length > 20, `${id} has a fix`);
  }
  assert.match(
    status(rep, 'tablespaces').found,
    'off the data volume mounted at /var/lib/postgresql/data: offvolume at /tmp/tbs_off',
  );
  assert.not.match(status(rep, 'tablespaces').found, 'beside');
  assert.is(status(rep, 'passwords').status, 'warn');
  assert.match(status(rep, 'passwords').found, 'legacy');
  assert.match(status(rep, 'postfix-operators').found, 'postgres (1): public.#!#(bigint, NONE)');
  assert.match(status(rep, 'postfix-operators').fix ?? '', 'in postgres: DROP OPERATOR public.#!# (bigint, NONE)');
  assert.match(status(rep, 'reg-columns').found, 'postgres (1): public.procs.handler');
  assert.match(status(rep, 'reg-columns').fix ?? '', 'ALTER TABLE public.procs ALTER COLUMN handler TYPE text');
  // An index on a SQL function that names a table without its schema: the restore's empty search_path breaks it.
  assert.is(status(rep, 'path-functions').status, 'warn');
  assert.match(status(rep, 'path-functions').found, 'index public.orders_tenant calls public.tenant_of(integer)');
  assert.not.match(status(rep, 'path-functions').found, 'pinned', 'a function with its own search_path is safe');
  assert.match(
    status(rep, 'path-functions').fix ?? '',
    'ALTER FUNCTION public.tenant_of(integer) SET search_path = public, pg_catalog',
  );
  const ext = JSON.parse((await check(cp, ['-n', ns.broken, '--to', '17', '-o', 'json'])).stdout) as Report;
  assert.is(status(ext, 'extensions').status, 'fail');
  assert.match(status(ext, 'extensions').found, 'adminpack');
  assert.is(status(ext, 'replication-slots').status, 'fail', 'a 13 source loses logical slots whatever the target');
  const text = await check(cp, ['-n', ns.broken, '--to', '17']);
  assert.is(text.code, 3);
  assert.match(
    text.stdout,
    /FAIL {2}Extensions exist in the target: postgres: adminpack .* \(removed from PostgreSQL 17\)\n {6}fix: /,
  );
});

test('a PVC too small for copy, and a root-owned volume in a restricted namespace, fail with their fixes', async () => {
  const { cp } = await sharedEnv();
  const link = JSON.parse((await check(cp, ['-n', ns.rootvol, '--to', '15', '-o', 'json'])).stdout) as Report;
  assert.is(status(link, 'space').status, 'pass', status(link, 'space').found);
  const r = await check(cp, ['-n', ns.rootvol, '--to', '15', '--method', 'copy', '-o', 'json']);
  assert.is(r.code, 3, r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.is(status(rep, 'space').status, 'fail', status(rep, 'space').found);
  assert.match(status(rep, 'space').fix ?? '', '--method link');
  assert.is(status(rep, 'pod-security').status, 'fail');
  assert.match(status(rep, 'pod-security').found, 'owned by 0:0 (755)');
  assert.match(status(rep, 'pod-security').found, 'no Job that passes "restricted"');
  const off = JSON.parse((await check(cp, ['-n', ns.official, '--to', '15', '-o', 'json'])).stdout) as Report;
  assert.is.not(
    status(off, 'pod-security').status,
    'fail',
    'without Pod Security enforcement the same layout only warns',
  );
});

test('--method clone probes for reflinks beside PGDATA, and fails where the filesystem has none', async () => {
  const { cp } = await sharedEnv();
  const a = path.join(cp.dir, 'reflink-a');
  fs.writeFileSync(a, 'x');
  const hostCan = spawnSync('cp', ['--reflink=always', a, `${a}.b`]).status === 0;
  const rep = JSON.parse(
    (await check(cp, ['-n', ns.bitnami, '--to', '15', '--method', 'clone', '-o', 'json'])).stdout,
  ) as Report;
  const space = status(rep, 'space');
  assert.is(space.status, hostCan ? 'pass' : 'fail', space.found);
  if (!hostCan) assert.match(space.found, 'a reflink copy (cp --reflink=always) failed beside PGDATA');
  const ls = await cp.kubectl([
    '-n',
    ns.bitnami,
    'exec',
    'circleci-postgresql-0',
    '--',
    'ls',
    '-a',
    '/bitnami/postgresql',
  ]);
  assert.not.match(ls.stdout, 'pgupgrade-reflink-probe', 'the probe file is removed');
});

test('a user who may not create Jobs fails the access check, which names the verb', async () => {
  const { cp } = await sharedEnv();
  const perms = permissionsForMethod('link').filter((p) => !(p.verb === 'create' && p.resource === 'jobs'));
  const rules = perms.map((p) => ({
    apiGroups: [p.group],
    resources: [p.subresource ? `${p.resource}/${p.subresource}` : p.resource],
    verbs: [p.verb],
  }));
  const sa = `nojobs-${process.pid}`;
  await applyObjects(cp, [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns.bitnami } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: sa }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: sa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns.bitnami }],
    },
  ]);
  const token = (await cp.kubectl(['-n', ns.bitnami, 'create', 'token', sa])).stdout.trim();
  const admin = load(fs.readFileSync(cp.kubeconfig, 'utf8')) as {
    clusters: Array<{ name: string; cluster: Record<string, string> }>;
  };
  const kc = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-kc-')), 'config');
  fs.writeFileSync(
    kc,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'nojobs',
      clusters: admin.clusters,
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: 'nojobs', context: { cluster: admin.clusters[0]?.name, user: sa, namespace: ns.bitnami } }],
    }),
    { mode: 0o600 },
  );
  const r = await check(cp, ['--to', '15', '-o', 'json'], kc);
  assert.is(r.code, 3, r.stderr);
  const access = status(JSON.parse(r.stdout) as Report, 'access');
  assert.is(access.status, 'fail');
  assert.match(access.found, 'create batch/jobs');
  assert.not.match(access.found, 'get batch/jobs');
});

test('bad input exits 2 with a clear message and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const before = await versions(cp, ns.bitnami);
  const cases: Array<[string[], RegExp]> = [
    [['-n', 'no-such-namespace'], /namespace no-such-namespace not found/],
    [
      ['-n', ns.bitnami, 'sts/nope'],
      /no StatefulSet named nope in namespace .*; PostgreSQL servers there: sts\/circleci-postgresql/,
    ],
    [['-n', ns.two], /several PostgreSQL servers in namespace .*: deploy\/postgres-a, deploy\/postgres-b/],
    [['-n', ns.bitnami, '--to', '13'], /runs PostgreSQL 13\.\d+.*--to 13 must be greater than the running major 13/],
    [['-n', ns.bitnami, '--to', '19'], /--to 19 is not a supported target \(supported: 12–18\)/],
    [['-n', ns.bitnami, '--to', '11'], /--to 11 is not a supported target \(supported: 12–18\)/],
    [['-n', ns.bitnami, '--context', 'nope'], /context "?nope"? .*(known|exist)/i],
    [['-n', ns.bitnami, '--app-selector', ''], /an empty selector matches every workload/],
    [['-n', ns.bitnami, '--app-selector', 'tier!=db'], /not an equality term/],
  ];
  for (const [args, message] of cases) {
    const r = await check(cp, args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal(await versions(cp, ns.bitnami), before);
});

test('a stopped database is read through a probe pod that runs pg_upgrade --check, and the probe is gone afterwards', async () => {
  const { cp } = await sharedEnv();
  await cp.kubectl(['-n', ns.official, 'scale', 'deploy/postgres', '--replicas=0']);
  await cp.kubectl(['-n', ns.official, 'wait', '--for=delete', 'pod', '-l', 'k8s-app=postgres', '--timeout=60s']);
  const before = await versions(cp, ns.official);
  const r = await check(cp, ['-n', ns.official, '--to', '17', '-o', 'json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  assert.equal(validateSchema(schema, rep), []);
  assert.match(
    String(rep.discovery.reach),
    /^probe pod pgupgrade-check-[0-9a-f]{6} \(tianon\/postgres-upgrade:13-to-17\)/,
  );
  assert.is(status(rep, 'pg-upgrade-check').status, 'pass', status(rep, 'pg-upgrade-check').found);
  assert.is(status(rep, 'shutdown').status, 'pass');
  assert.is(status(rep, 'initdb').status, 'pass');
  assert.is(status(rep, 'credentials').status, 'warn', 'the password is not tried while the database is stopped');
  assert.equal(await versions(cp, ns.official), before, 'the probe pod was the only change, and it is gone');
  const broken = await check(cp, ['-n', ns.broken, '--to', '15', '-o', 'json']);
  assert.is(broken.code, 3);
  assert.is(
    status(JSON.parse(broken.stdout) as Report, 'pg-upgrade-check').status,
    'warn',
    'live: not run, and it says why',
  );
});

test('Ctrl-C during the probe deletes the probe pod and exits 130', async () => {
  const { cp } = await sharedEnv();
  const child = spawn(requireBinary(), ['check', '-n', ns.official, '--to', '15'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: cp.kubeconfig },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const probes = async () =>
    (
      await cp.kubectl(['-n', ns.official, 'get', 'pods', '-l', 'pgupgrade.kubectl.io/role=check-probe', '-o', 'name'])
    ).stdout.trim();
  await waitFor('the probe pod', async () => (await probes()) !== '', 60_000);
  child.kill('SIGINT');
  assert.is(await exited, 130, err);
  assert.match(err, 'interrupted');
  await waitFor('the probe pod to be deleted', async () => (await probes()) === '', 20_000);
});

test('a password that ends with a newline (kubectl create secret --from-file) reaches the server whole', async () => {
  const { cp } = await sharedEnv();
  const pw = `${PASSWORDS[0]}\n`;
  const sql = podSql(cp, ns.bitnami, 'circleci-postgresql-0', 'postgres');
  await sql('postgres', `ALTER ROLE postgres PASSWORD E'${PASSWORDS[0]}\\n'`);
  await cp.kubectl([
    '-n',
    ns.bitnami,
    'patch',
    'secret',
    'circleci-postgresql',
    '-p',
    JSON.stringify({ data: { 'postgres-password': Buffer.from(pw).toString('base64') } }),
  ]);
  try {
    const r = await check(cp, ['-n', ns.bitnami, '--to', '15', '-o', 'json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is(status(JSON.parse(r.stdout) as Report, 'credentials').status, 'pass');
    // The usual way it goes wrong: the server's password was set without the newline (initdb --pwfile keeps the
    // first line), the Secret has it. The failure says so, without showing the value.
    await sql('postgres', `ALTER ROLE postgres PASSWORD '${PASSWORDS[0]}'`);
    const bad = await check(cp, ['-n', ns.bitnami, '--to', '15', '-o', 'json']);
    assert.is(bad.code, 3, bad.stdout + bad.stderr);
    const cred = status(JSON.parse(bad.stdout) as Report, 'credentials');
    assert.is(cred.status, 'fail');
    assert.match(cred.found, 'ends in a line break');
  } finally {
    await sql('postgres', `ALTER ROLE postgres PASSWORD '${PASSWORDS[0]}'`);
    await cp.kubectl([
      '-n',
      ns.bitnami,
      'patch',
      'secret',
      'circleci-postgresql',
      '-p',
      JSON.stringify({ data: { 'postgres-password': Buffer.from(PASSWORDS[0] as string).toString('base64') } }),
    ]);
  }
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  const { cp } = await sharedEnv();
  assert.ok(outputs.length >= 10);
  for (const r of outputs)
    for (const p of PASSWORDS)
      assert.not.ok(r.stdout.includes(p) || r.stderr.includes(p), `the password leaked: ${r.stdout}${r.stderr}`);
  const audit = fs.readFileSync(cp.auditLog, 'utf8');
  assert.match(audit, '/exec?', 'the audit log recorded the exec calls');
  for (const p of PASSWORDS)
    assert.not.ok(audit.includes(p) || audit.includes(encodeURIComponent(p)), 'a password reached the audit log');
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
