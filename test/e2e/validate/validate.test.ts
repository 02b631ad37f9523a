import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import { podName, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { claimDir, waitForWrites } from '../../support/pg/writes.ts';
import { waitFor } from '../../support/process.ts';
import {
  app,
  assertNoSecret,
  deployCase,
  selector,
  upgradeCli,
  user,
  type Deployed,
} from '../../support/upgrade-cases.ts';

const test = suite('kubectl pgupgrade validate, after a real upgrade (Bitnami 13 → 15, link)');
const PASSWORD = 'Validate-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'validate',
  file: 'upgrade',
  flavour: 'bitnami',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('val-bitnami'),
  pod: '',
};

interface Check {
  id: string;
  status: 'pass' | 'warn' | 'fail';
  found: string;
  fix?: string;
  details?: string[];
}
interface Report {
  checks: Check[];
  repairs: string[];
  summary: { fail: number };
}

async function validate(
  cp: ControlPlane,
  args: string[] = [],
): Promise<{ r: RunResult; rep: Report; by: (id: string) => Check }> {
  const r = await runAsync(
    requireBinary(),
    ['validate', '-n', c.ns, '-o', 'json', ...args],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  let rep: Report;
  try {
    rep = JSON.parse(r.stdout) as Report;
  } catch {
    throw new Error(`validate printed no report (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  const by = (id: string) =>
    rep.checks.find((x) => x.id === id) ?? (assert.unreachable(`no check ${id}: ${r.stdout}`) as never);
  return { r, rep, by };
}

const sql = async (db: string, text: string) => {
  const { cp } = await sharedEnv();
  return podSql(cp, c.ns, c.pod, user(c))(db, text);
};
// A session that the server does not count: its writes look, to validate, like a change nothing made (a loss).
const behindItsBack = (text: string) => `SET track_counts = off;\n${text}`;

test('set up: Bitnami 13 with its writing application, seeded, upgraded to 15 by the binary', async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, c, PASSWORD);
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  c.pod = await podName(cp, c.ns, selector(c));
  await waitReady(cp, c.ns, c.pod);
  await waitForWrites(cp, c.ns, { app: app(c), major: 15, moreThan: 5 });
});

test("validate passes after the upgrade; the application's own table is listed as written since, not judged", async () => {
  const { cp } = await sharedEnv();
  const { r, rep, by } = await validate(cp);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(
    rep.checks.map((x) => x.id),
    ['server', 'connections', 'data', 'statistics', 'extensions', 'collations', 'applications', 'finished'],
  );
  for (const id of ['server', 'connections', 'data', 'collations', 'applications', 'finished'])
    assert.is(by(id).status, 'pass', `${id}: ${by(id).found}`);
  assert.match(by('server').found, /PostgreSQL 15\.\d+, Ready, 0 restarts/);
  assert.match(by('data').found, /^equal, compared with the reference read from the snapshot/);
  assert.ok(
    by('data').details?.some((d) => /public\.app_writes: rows \d+ → \d+; written since the upgrade/.test(d)),
    by('data').details?.join('\n'),
  );
  assert.match(by('applications').found, 'deploy/circleci-frontend (2) ready');
  // The contract with cleanup (src/state/validated.ts): a pass is recorded on the upgrade's record, after its done time.
  assert.is((rep as Report & { validatedAt: boolean }).validatedAt, true);
  const cm = JSON.parse(
    (await cp.kubectl(['-n', c.ns, 'get', 'configmap', 'pgupgrade-state-circleci-postgresql', '-o', 'json'])).stdout,
  ) as { metadata: { annotations: Record<string, string> }; data: { 'state.json': string } };
  const done =
    (JSON.parse(cm.data['state.json']) as { history: Array<{ phase: string; at: string }> }).history.find(
      (h) => h.phase === 'done',
    )?.at ?? '';
  assert.ok(
    Date.parse(cm.metadata.annotations['pgupgrade.kubectl.io/validated-at'] ?? '') >= Date.parse(done),
    JSON.stringify(cm.metadata.annotations),
  );
  const dry = await runAsync(requireBinary(), ['cleanup', '-n', c.ns, '--older-than', '0s', '--dry-run'], {
    KUBECONFIG: cp.kubeconfig,
  });
  outputs.push(dry);
  assert.is(dry.code, 0, `cleanup's validate guard is met without --force: ${dry.stderr}`);
  assert.not.match(dry.stderr, '--force');
  const text = await runAsync(requireBinary(), ['validate', '-n', c.ns], { KUBECONFIG: cp.kubeconfig }, 300_000);
  outputs.push(text);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /^PASS {2}The data equals the reference fingerprint: equal/m);
  assert.match(
    text.stdout,
    /\d+ passed, \d+ warnings, 0 failed; recorded on the upgrade's record \(pgupgrade\.kubectl\.io\/validated-at\)/,
  );
  process.stderr.write(
    `\n  validate's report after the upgrade, for the log:\n${text.stdout.replace(/^/gm, '    ')}\n`,
  );
});

test('an old extension and a table without statistics warn; --update-extensions --analyze repair both, but for the extension in the public that everyone may write', async () => {
  const { cp } = await sharedEnv();
  // In a schema only the superuser writes. The seed's hstore is in the public that 13 left writable by PUBLIC: the
  // upgrade skipped its update, and --update-extensions skips it too, naming it (test/e2e/pg/hostile-role.test.ts).
  await sql('app2', "CREATE SCHEMA ext; CREATE EXTENSION pg_trgm VERSION '1.3' SCHEMA ext");
  await sql(
    'app2',
    'CREATE TABLE no_stats WITH (autovacuum_enabled = false) AS SELECT g FROM generate_series(1, 100) g',
  );
  const found = await validate(cp);
  assert.is(found.r.code, 0, 'warnings only');
  assert.is(found.by('extensions').status, 'warn');
  assert.match(found.by('extensions').found, /app2: [^;]*pg_trgm 1\.3 \(default 1\.\d\)/);
  assert.is(found.by('statistics').status, 'warn');
  assert.ok(
    found.by('statistics').details?.includes('app2: public.no_stats'),
    found.by('statistics').details?.join('\n'),
  );
  const repaired = await validate(cp, ['--update-extensions', '--analyze']);
  assert.is(repaired.r.code, 0);
  assert.is(repaired.by('extensions').status, 'warn', repaired.by('extensions').found);
  assert.match(
    repaired.by('extensions').found,
    'hstore in database app2 (schema public): PUBLIC may create objects in schema public',
  );
  assert.not.match(repaired.by('extensions').found, 'pg_trgm');
  assert.match(repaired.by('extensions').fix ?? '', 'in database app2: ALTER EXTENSION "hstore" UPDATE;');
  assert.is(repaired.by('statistics').status, 'pass', repaired.by('statistics').found);
  assert.is(repaired.rep.repairs.length, 2);
  assert.not.equal((await sql('app2', "SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'")).trim(), '1.3');
});

test('a row deleted behind its back fails with the diff (exit 3); so does one row changed with the same row count', async () => {
  const { cp } = await sharedEnv();
  const kept = (await sql('app1', 'SELECT row_to_json(o) FROM orders o WHERE id = 7')).trim();
  await sql('app1', behindItsBack('DELETE FROM orders WHERE id = 7'));
  const gone = await validate(cp);
  assert.is(gone.r.code, 3, gone.r.stderr);
  assert.is(gone.by('data').status, 'fail');
  assert.ok(
    gone
      .by('data')
      .details?.includes('FAIL database app1: table public.orders: rows 600 → 599, not written since the upgrade'),
    gone.by('data').details?.join('\n'),
  );
  assert.match(gone.by('data').fix ?? '', `kubectl pgupgrade upgrade -n ${c.ns} sts/circleci-postgresql --rollback`);
  assert.match(gone.r.stderr, 'validate found 1 failed check');
  await sql('app1', behindItsBack(`INSERT INTO orders SELECT * FROM json_populate_record(null::orders, '${kept}')`));

  await sql('app1', behindItsBack("UPDATE customers SET name = 'someone else' WHERE id = 3"));
  const changed = await validate(cp);
  assert.is(changed.r.code, 3);
  assert.ok(
    changed
      .by('data')
      .details?.includes(
        'FAIL database app1: table public.customers: content changed (rows 200), not written since the upgrade',
      ),
    changed.by('data').details?.join('\n'),
  );
  await sql('app1', behindItsBack("UPDATE customers SET name = 'customer 3' WHERE id = 3"));
  const back = await validate(cp);
  assert.is(back.r.code, 0, `restored, it passes again: ${back.r.stdout}`);
});

test('a collation version mismatch alone is a WARN; with an index on it a FAIL naming the index; --reindex-collations repairs it, and validate passes again', async () => {
  const { cp } = await sharedEnv();
  const coll = (
    await sql(
      'app1',
      `SELECT collname FROM pg_collation WHERE collprovider = 'c' AND collversion IS NOT NULL
    AND collencoding IN (-1, (SELECT encoding FROM pg_database WHERE datname = current_database())) ORDER BY collname LIMIT 1`,
    )
  ).trim();
  assert.ok(coll, 'a libc collation with a recorded version');
  await sql('app1', `UPDATE pg_collation SET collversion = '0.1' WHERE collname = '${coll}'`);
  const alone = await validate(cp);
  assert.is(
    alone.by('collations').status,
    'warn',
    `nothing depends on it: no false alarm: ${alone.by('collations').found}`,
  );
  assert.match(alone.by('collations').fix ?? '', `(in app1) ALTER COLLATION pg_catalog.`);
  await sql('app1', `CREATE INDEX customers_name_coll ON customers (name COLLATE "${coll}")`);
  const found = await validate(cp);
  assert.is(found.r.code, 3, found.r.stdout);
  assert.is(found.by('collations').status, 'fail');
  assert.match(found.by('collations').found, /database app1: collation pg_catalog\.\S+ recorded 0\.1, library \S+/);
  assert.ok(
    found.by('collations').details?.includes('app1: index public.customers_name_coll'),
    found.by('collations').details?.join('\n'),
  );
  const repaired = await validate(cp, ['--reindex-collations']);
  assert.is(repaired.r.code, 0, repaired.r.stdout);
  assert.match(repaired.rep.repairs.join(' '), 'collations');
  assert.is(repaired.by('collations').status, 'pass');
  assert.is(
    (
      await sql(
        'app1',
        `SELECT collversion = pg_collation_actual_version(oid) FROM pg_collation WHERE collname = '${coll}'`,
      )
    ).trim(),
    't',
  );
  const again = await validate(cp);
  assert.is(again.r.code, 0);
  assert.is(again.by('collations').status, 'pass');
});

async function btreeIndexes(): Promise<string[]> {
  const out: string[] = [];
  const all = (await sql('postgres', 'SELECT datname FROM pg_database WHERE datallowconn')).trim().split('\n');
  for (const db of all) {
    const rows = await sql(
      db,
      `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND c.relkind = 'i' AND c.oid >= 16384`,
    );
    out.push(
      ...rows
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((i) => `${db}: ${i}`),
    );
  }
  return out.sort();
}

test('--amcheck reports every B-tree index checked and leaves no extension behind; an index corrupted on disk is found', async () => {
  const { cp } = await sharedEnv();
  const checked = await validate(cp, ['--amcheck']);
  assert.is(checked.r.code, 0, checked.r.stdout);
  const a = checked.by('amcheck');
  assert.is(a.status, 'pass');
  const expected = await btreeIndexes();
  assert.ok(expected.length > 15 && expected.includes('app1: public.customers_created'), expected.join('\n'));
  assert.equal((a.details ?? []).map((d) => d.replace(/^ok /, '')).sort(), expected);
  for (const db of ['app1', 'postgres'])
    assert.is((await sql(db, "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'")).trim(), '0');

  // Garbage over the index's second block, written into its file on the volume while the server is stopped.
  const file = (await sql('app1', "SELECT pg_relation_filepath('customers_created')")).trim();
  const sts = ['-n', c.ns, 'scale', 'sts/circleci-postgresql'];
  await cp.kubectl([...sts, '--replicas=0']);
  await waitFor(
    'the database pod to be gone',
    async () => (await cp.kubectl(['-n', c.ns, 'get', 'pod', c.pod], { allowFail: true })).code !== 0,
    120_000,
  );
  const vol = await claimDir(
    async (args) => (await cp.kubectl(args)).stdout,
    path.join(cp.dir, 'node'),
    c.ns,
    'data-circleci-postgresql-0',
  );
  const fd = fs.openSync(path.join(vol, 'data', file), 'r+');
  fs.writeSync(fd, crypto.randomBytes(8192), 0, 8192, 8192);
  fs.closeSync(fd);
  await cp.kubectl([...sts, '--replicas=1']);
  c.pod = await podName(cp, c.ns, selector(c));
  await waitReady(cp, c.ns, c.pod);
  const broken = await validate(cp, ['--amcheck']);
  assert.is(broken.r.code, 3, broken.r.stdout);
  assert.is(broken.by('amcheck').status, 'fail');
  assert.match(broken.by('amcheck').found, /^1 of \d+ indexes fail: app1: public\.customers_created \(/);
  assert.ok(broken.by('amcheck').details?.some((d) => d.startsWith('CORRUPT app1: public.customers_created: ')));
  assert.is(broken.rep.summary.fail, 1, 'only the index');
});

test('bad input exits 2; no output and no audited command line holds the password', async () => {
  const { cp } = await sharedEnv();
  const r = await runAsync(requireBinary(), ['validate', '-n', c.ns, 'deploy/circleci-frontend'], {
    KUBECONFIG: cp.kubeconfig,
  });
  assert.is(r.code, 2);
  assert.match(r.stderr, 'does not run PostgreSQL');
  const none = await runAsync(requireBinary(), ['validate', '-n', c.ns, '--reindex'], { KUBECONFIG: cp.kubeconfig });
  assert.is(none.code, 2);
  assert.match(none.stderr, 'Unknown argument: reindex');
  outputs.push(r, none);
  assertNoSecret(cp, outputs, PASSWORD, 10);
  await releaseNamespaces(cp, [c.ns]);
});

test.run();
