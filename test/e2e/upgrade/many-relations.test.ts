import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { podSql, releaseNamespaces } from '../../support/kube/helpers.ts';
import { takeFingerprint } from '../../support/pg/fingerprint.ts';
import {
  assertNoSecret,
  deployCase,
  upgradeCli,
  user,
  verifyUpgraded,
  type Deployed,
} from '../../support/upgrade-cases.ts';

// A multi-tenant database: more tables than the default lock table holds (max_locks_per_transaction 64 × 122
// sessions, connections and background processes = 7,808 locks), while pg_dump of the schema locks every table in
// one transaction. Left to itself,
// pg_upgrade stops inside the downtime with "out of shared memory"; check says what the Job does instead, and the
// Job starts pg_upgrade's servers with a lock table that holds them.
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
  tenants.before = await takeFingerprint(sql);
});

test('check: the tables outnumber the lock table, and the Job raises max_locks_per_transaction for pg_upgrade alone', async () => {
  const { cp } = await sharedEnv();
  const r = await runAsync(
    requireBinary(),
    ['check', '-n', tenants.ns, '--to', '15', '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const locks = (JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; found: string }> }).checks.find(
    (c) => c.id === 'locks',
  );
  assert.is(locks?.status, 'pass', JSON.stringify(locks));
  const [, needed, holds] = /about (\d+) locks needed .*the table holds (\d+)/.exec(locks?.found ?? '') ?? [];
  assert.ok(Number(needed) > SCHEMAS * TABLES && Number(holds) < SCHEMAS * TABLES, locks?.found);
  assert.match(locks?.found ?? '', /servers with max_connections=100 and max_locks_per_transaction=\d+/);
});

test('upgrade in place: pg_upgrade dumps and restores every table; the data is equal and the application writes again', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', tenants.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  await verifyUpgraded(cp, tenants, r, outputs, '0');
});

test('no secret in any output or in the audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 2);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
