import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { podName, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { takeFingerprint } from '../../support/pg/fingerprint.ts';
import {
  assertNoSecret,
  deployCase,
  selector,
  upgradeCli,
  user,
  verifyUpgraded,
  type Deployed,
} from '../../support/upgrade-cases.ts';

// A multi-tenant database: more relations than the default lock table holds (max_locks_per_transaction 64 × 122
// sessions, connections and background processes = 7,808 locks). The plugin's verification reads every relation in
// one transaction, and pg_dump of the schema locks every table in one: check FAILs before any downtime, naming the
// setting; with it raised, pg_upgrade's servers (the new one starts on initdb's configuration) are given a table
// that holds them, and the upgrade goes through.
const test = suite('many relations: more tables than the default lock table holds, upgraded in place');
const PASSWORD = 'Relations-E2E-S3cret';
const outputs: RunResult[] = [];
const SCHEMAS = 50;
const TABLES = 200;

const tenants: Deployed = {
  name: `official 13 → 15, link, ${SCHEMAS * TABLES} tables with a primary key`,
  file: 'upgrade',
  flavour: 'official',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('relations'),
  pod: '',
};

/** One DO block a schema, each its own transaction: the set-up itself stays within the default lock table. */
const tenantsSql = (): string =>
  Array.from(
    { length: SCHEMAS },
    (_, s) => `DO $$ BEGIN
  CREATE SCHEMA tenant_${s};
  FOR i IN 1..${TABLES} LOOP
    EXECUTE pg_catalog.format('CREATE TABLE tenant_${s}.t_%s (id int PRIMARY KEY, v text)', i);
    EXECUTE pg_catalog.format('INSERT INTO tenant_${s}.t_%s VALUES (%s, %L)', i, i, 'tenant ${s}');
  END LOOP;
END $$;`,
  ).join('\n');

test(`set up: the official 13 with its writing application, and ${SCHEMAS} tenant schemas of ${TABLES} tables each`, async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, tenants, PASSWORD);
  const sql = podSql(cp, tenants.ns, tenants.pod, user(tenants));
  await sql('postgres', tenantsSql());
  const count = await sql(
    'postgres',
    "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname LIKE 'tenant_%'",
  );
  assert.is(Number(count.trim()), SCHEMAS * TABLES);
});

type Check = { id: string; status: string; found: string; fix?: string };
async function locksFinding(): Promise<{ code: number; locks?: Check }> {
  const { cp } = await sharedEnv();
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', tenants.ns, '--to', '15', '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  return {
    code: r.code,
    locks: (JSON.parse(r.stdout) as { checks: Check[] }).checks.find((c) => c.id === 'locks'),
  };
}

test('check FAILs before any downtime: the verification would read more relations than the lock table holds; raised, it passes', async () => {
  const { cp } = await sharedEnv();
  const before = await locksFinding();
  assert.is(before.code, 3, JSON.stringify(before.locks));
  assert.is(before.locks?.status, 'fail');
  const [, holds] = /the lock table holds (\d+)/.exec(before.locks?.found ?? '') ?? [];
  assert.ok(Number(holds) < SCHEMAS * TABLES, before.locks?.found);
  const setting = /ALTER SYSTEM SET max_locks_per_transaction = \d+/.exec(before.locks?.fix ?? '')?.[0];
  assert.ok(setting, before.locks?.fix);
  // The user's fix, as the finding says: the setting, then a restart of the database's pod.
  await podSql(cp, tenants.ns, tenants.pod, user(tenants))('postgres', `${setting};`);
  await cp.kubectl(['-n', tenants.ns, 'delete', 'pod', tenants.pod, '--wait=true']);
  tenants.pod = await podName(cp, tenants.ns, selector(tenants));
  await waitReady(cp, tenants.ns, tenants.pod);
  const after = await locksFinding();
  assert.is(after.locks?.status, 'pass', after.locks?.found);
  assert.match(after.locks?.found ?? '', /servers with max_connections=100 and max_locks_per_transaction=\d+/);
  tenants.before = await takeFingerprint(podSql(cp, tenants.ns, tenants.pod, user(tenants)));
});

test('upgrade in place: pg_upgrade dumps and restores every table; the data is equal and the application writes again', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', tenants.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  await verifyUpgraded(cp, tenants, r, outputs, '0');
});

test('no secret in any output or in the audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 3);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
