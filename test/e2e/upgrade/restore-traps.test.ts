import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { podSql, releaseNamespaces } from '../../support/kube/helpers.ts';
import { assertNoSecret, deployCase, user, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 29, 1: a database that passes pg_upgrade --check and then fails while pg_upgrade restores its schema. An
// index on an IMMUTABLE SQL function whose body names a table without its schema: pg_upgrade creates the index
// under an empty search_path, and planning it inlines the body there. check names it (a WARN, with the statement
// that pins the function's search_path) before any downtime; --rehearse, on a clone, fails on it while production
// is only read (already at the plugin's own read of the clone: a query on that table inlines the body under the
// session's search_path, pg_catalog); pinned as check says, the rehearsal passes.
const test = suite("the schema's restore traps: named by check, proven by --rehearse on a clone, fixed as check says");
const PASSWORD = 'Traps-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'official 13 → 15, an index on an unqualified SQL function',
  file: 'upgrade',
  flavour: 'official',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('restore-traps'),
  pod: '',
};

async function cli(cp: ControlPlane, args: string[]): Promise<RunResult> {
  const r = await runAsync(requireBinary(), args, { KUBECONFIG: cp.kubeconfig }, 600_000);
  outputs.push(r);
  return r;
}

type Finding = { id: string; status: string; found: string; fix?: string };
/** What an upgrade would change: the workload, its claim and Service, and the database's start time. */
async function production(cp: ControlPlane): Promise<string> {
  const rv = await cp.kubectl([
    '-n',
    c.ns,
    'get',
    'deployments,pvc,services',
    '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}',
  ]);
  const started = await podSql(cp, c.ns, c.pod, user(c))('postgres', 'select pg_postmaster_start_time()');
  return `${rv.stdout}\nstarted ${started.trim()}`;
}

test('set up: the official 13, its application writing, and an index on a SQL function that names its table unqualified', async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, c, PASSWORD);
  await podSql(
    cp,
    c.ns,
    c.pod,
    user(c),
  )(
    'app1',
    `CREATE TABLE public.trap_tenants (k int PRIMARY KEY, v int);
     INSERT INTO public.trap_tenants SELECT g, g % 7 FROM pg_catalog.generate_series(1, 100) g;
     CREATE FUNCTION public.tenant_of(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT v FROM trap_tenants WHERE k = $1';
     CREATE TABLE public.trap_orders (id int PRIMARY KEY, customer int);
     INSERT INTO public.trap_orders SELECT g, g FROM pg_catalog.generate_series(1, 100) g;
     CREATE INDEX trap_orders_tenant ON public.trap_orders (public.tenant_of(customer));`,
  );
});

test('check names the index before any downtime; --rehearse fails on the clone with the restore error, production only read', async () => {
  const { cp } = await sharedEnv();
  const chk = await cli(cp, ['check', '-n', c.ns, '--to', '15', '-o', 'json']);
  const finding = (JSON.parse(chk.stdout) as { checks: Finding[] }).checks.find((x) => x.id === 'path-functions');
  assert.is(finding?.status, 'warn', chk.stdout);
  assert.match(finding?.found ?? '', 'app1 (1): index public.trap_orders_tenant calls public.tenant_of(integer)');
  assert.match(finding?.fix ?? '', '--rehearse');
  const before = await production(cp);
  const r = await cli(cp, ['upgrade', '-n', c.ns, '--to', '15', '--rehearse', '-o', 'json']);
  // Exit 1: the plugin's own read of the clone failed (3 would be the Job's outcome judged).
  assert.is(r.code, 1, r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as { ok: boolean; failure: string | null };
  assert.is(rep.ok, false);
  // It fails before the Job: the plugin's own read of the clone plans the table, and planning loads the index's
  // expression, inlining the body under the session's search_path (pg_catalog), where trap_tenants is not found.
  assert.match(rep.failure ?? '', /SQL function "tenant_of" during inlining/);
  assert.is(await production(cp), before, 'production untouched');
});

test("pinned with check's own statement, the warning is gone and the rehearsal passes", async () => {
  const { cp } = await sharedEnv();
  await podSql(
    cp,
    c.ns,
    c.pod,
    user(c),
  )('app1', 'ALTER FUNCTION public.tenant_of(integer) SET search_path = public, pg_catalog');
  const chk = await cli(cp, ['check', '-n', c.ns, '--to', '15', '-o', 'json']);
  const finding = (JSON.parse(chk.stdout) as { checks: Finding[] }).checks.find((x) => x.id === 'path-functions');
  assert.is(finding?.status, 'pass', JSON.stringify(finding));
  const r = await cli(cp, ['upgrade', '-n', c.ns, '--to', '15', '--rehearse', '-o', 'json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is((JSON.parse(r.stdout) as { ok: boolean }).ok, true);
});

test('no secret in any output or in the audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 3);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
