import { hostileRoleIsSuperuser } from '../../support/pg/hostile-role.ts';
import { auditedCreations, planDrift, plannedCreations, PLUGIN_AGENT } from '../../support/planned-created.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { runUntil } from '../../support/cli/run-until.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import {
  applyObjects,
  podName,
  podSql,
  recordedState,
  releaseNamespaces,
  resourceVersions,
  waitReady,
} from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { SEED_ROLES } from '../../support/pg/seed.ts';
import {
  assertWritesPresent,
  committedWrites,
  countWrites,
  waitForWrites,
  withoutWrites,
  type Write,
} from '../../support/pg/writes.ts';
import { assertNoSecret, deployCase, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';
import { waitFor } from '../../support/process.ts';

// Issue 14, acceptance 1 for the seed's own pair (official postgres:12 Deployment, admin, PGDATA in a subdirectory → a
// new 14 instance by dump, the Service cut over, then --rollback) and acceptance 4 (source = target refused).
const test = suite("upgrade --method dump: seed 000's 12 into a new 14 instance, the Service cut over, and back");
const PASSWORD = 'Dump-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'official 12 → 14 by dump',
  file: 'majors',
  flavour: 'official',
  from: 12,
  to: 14,
  method: 'link',
  ns: uniqueNamespace('dump-official'),
  pod: '',
};
const APP = 'postgres-app';

const svcVersions = async (cp: ControlPlane) =>
  (
    await cp.kubectl([
      '-n',
      c.ns,
      'get',
      'services',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}',
    ])
  ).stdout;
const selectorOf = async (cp: ControlPlane, svc: string) =>
  JSON.parse(
    (await cp.kubectl(['-n', c.ns, 'get', 'service', svc, '-o', 'jsonpath={.spec.selector}'])).stdout,
  ) as Record<string, string>;
const replicasOf = async (cp: ControlPlane, deploy: string) =>
  Number((await cp.kubectl(['-n', c.ns, 'get', 'deploy', deploy, '-o', 'jsonpath={.spec.replicas}'])).stdout);

/** A new connection through the Service's DNS name, from a pod of the namespace, as `role` with its password (a test-only one). */
async function viaService(
  cp: ControlPlane,
  pod: string,
  role: { name: string; password: string },
  db: string,
): Promise<string> {
  const r = await cp.kubectl(
    [
      '-n',
      c.ns,
      'exec',
      pod,
      '--',
      'env',
      `PGPASSWORD=${role.password}`,
      `PGDATABASE=${db}`,
      'psql',
      '-X',
      '-A',
      '-t',
      '-h',
      'postgres',
      '-U',
      role.name,
      '-c',
      "select current_setting('server_version_num')",
    ],
    { allowFail: true },
  );
  assert.is(r.code, 0, `${role.name} through Service postgres: ${r.stderr}`);
  return r.stdout.trim();
}

/** The dump record's phase as the plugin wrote it. */
async function recordedDump(cp: ControlPlane): Promise<{ phase: string } | undefined> {
  const r = await cp.kubectl(
    ['-n', c.ns, 'get', 'configmap', 'pgupgrade-dump-postgres', '-o', 'jsonpath={.data.state\\.json}'],
    { allowFail: true },
  );
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { phase: string }) : undefined;
}

test("set up: seed 000's Deployment on 12, seeded (an md5 role among them), its application writing", async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, c, PASSWORD);
  assert.ok(c.before && Object.keys(c.before.perDb).length >= 4);
});

test('source = target is refused, exit 2, nothing changed: the workload itself, and a second Service name for the same server', async () => {
  const { cp } = await sharedEnv();
  await applyObjects(cp, [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'postgres-alias', namespace: c.ns },
      spec: { selector: { 'k8s-app': 'postgres' }, ports: [{ port: 5432, targetPort: 5432 }] },
    },
  ]);
  const before = (await resourceVersions(cp, c.ns)) + (await svcVersions(cp));
  for (const target of ['deploy/postgres', 'svc/postgres-alias', 'postgres']) {
    const r = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '--target', target, '-y'], outputs);
    assert.is(r.code, 2, `--target ${target}: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, 'the source and the target are the same server');
    assert.match(r.stderr, 'nothing was changed');
  }
  assert.is((await resourceVersions(cp, c.ns)) + (await svcVersions(cp)), before, 'nothing changed');
  await cp.kubectl(['-n', c.ns, 'delete', 'service', 'postgres-alias']);
});

// Issue 24, 4.10: --storage-class and --size reached the apiserver unchecked (a PVC never bound, or too small for the load).
test("--storage-class the cluster lacks, or --size below the source PVC's request: refused, exit 2, nothing changed", async () => {
  const { cp } = await sharedEnv();
  const before = (await resourceVersions(cp, c.ns)) + (await svcVersions(cp));
  const noClass = await upgradeCli(
    cp,
    ['-n', c.ns, '--to', '14', '--method', 'dump', '--storage-class', 'no-such-class', '-y'],
    outputs,
  );
  assert.is(noClass.code, 2, `${noClass.stdout}\n${noClass.stderr}`);
  assert.match(noClass.stderr, '--storage-class no-such-class: the cluster has no StorageClass of that name');
  const small = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '--size', '1Mi', '-y'], outputs);
  assert.is(small.code, 2, `${small.stdout}\n${small.stderr}`);
  assert.match(small.stderr, /--size 1Mi is smaller than the \S+ that the source PVC \S+ requests/);
  assert.is((await resourceVersions(cp, c.ns)) + (await svcVersions(cp)), before, 'nothing changed');
  assert.is(await recordedDump(cp), undefined, 'no record');
});

test('--dry-run prints every object and patch in order, and changes nothing', async () => {
  const { cp } = await sharedEnv();
  const before = (await resourceVersions(cp, c.ns)) + (await svcVersions(cp));
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '--dry-run'], outputs);
  assert.is(r.code, 0, r.stderr);
  const at = (s: string) => r.stdout.indexOf(s);
  for (const s of [
    'name: data-postgres-v14',
    'kind: Service',
    'kind: Deployment',
    'ALTER SYSTEM SET fsync',
    'name: postgres-app',
    'pgupgrade.kubectl.io/instance: postgres-v14',
  ]) {
    assert.ok(at(s) >= 0, `${s} in:\n${r.stdout}`);
  }
  assert.ok(
    at('name: data-postgres-v14') < at('ALTER SYSTEM SET fsync') && at('ALTER SYSTEM SET fsync') < at('cutover'),
    r.stdout,
  );
  assert.is((await resourceVersions(cp, c.ns)) + (await svcVersions(cp)), before, 'nothing changed');
});

/**
 * Issue 24, 4.5: a client that no scaling stops (a bare pod, matched by neither the workload's selector nor the
 * applications'): one long session, and an insert through Service postgres every 0.3 s, each attempt logged.
 */
const OUTSIDER = 'outsider';
// The long session waits for a first connection (the Service's endpoints may lag the pod), then starts once.
const OUTSIDER_SCRIPT = `(until psql -X -q -d app1 -c 'select 1' > /dev/null 2>&1; do sleep 0.5; done; psql -X -d app1 -c 'select pg_sleep(100000)') &
while true; do echo "attempt: $(psql -X -q -A -t -d postgres -c 'INSERT INTO public.app_writes DEFAULT VALUES RETURNING id' 2>&1 | tr '\\n' ' ')"; sleep 0.3; done`;
const outsider = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: OUTSIDER, namespace: c.ns, labels: { role: 'report-job' } },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'psql',
        image: 'alpine/psql:15.8',
        command: ['/bin/sh', '-c', OUTSIDER_SCRIPT],
        env: [
          { name: 'PGHOST', value: 'postgres' },
          { name: 'PGUSER', value: 'admin' },
          { name: 'PGCONNECT_TIMEOUT', value: '3' },
          { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'postgres', key: 'admin-pass' } } },
        ],
      },
    ],
  },
});
const outsiderLog = async (cp: ControlPlane) =>
  (await cp.kubectl(['-n', c.ns, 'logs', OUTSIDER], { allowFail: true })).stdout;

let oldBefore: Fingerprint;
/** The application's journal at the rollback: what it wrote on 14 then is lost by the rollback, as it says. */
let rolledBackJournal: Write[] = [];

test('12 → a new 14 instance by dump: every committed write there, equal fingerprints, every role logs in, the Service cut over', async () => {
  const { cp } = await sharedEnv();
  oldBefore = c.before as Fingerprint;
  await applyObjects(cp, [outsider()]);
  await waitReady(cp, c.ns, OUTSIDER);
  await waitFor(
    "the outsider's long session and its inserts on 12",
    async () => {
      const log = await outsiderLog(cp);
      const sessions = (
        await podSql(
          cp,
          c.ns,
          c.pod,
          'admin',
        )('postgres', "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'select pg_sleep%'")
      ).trim();
      if (/attempt: \d+/.test(log) && sessions === '1') return true;
      // Thrown, so that a timeout says what was seen last.
      throw new Error(`${sessions} long sessions; the outsider's log ends: ${log.slice(-600)}`);
    },
    60_000,
  );
  const args = ['-n', c.ns, '--to', '14', '--method', 'dump'];
  const plan = await upgradeCli(cp, [...args, '--dry-run', '-o', 'yaml'], outputs);
  const since = new Date();
  const r = await upgradeCli(cp, [...args, '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  // What the run created (the audit log says) is what its dry run planned, no more and no less.
  assert.is(plan.code, 0, plan.stderr);
  assert.equal(planDrift(plannedCreations(plan.stdout), auditedCreations(cp, c.ns, since, PLUGIN_AGENT)), {
    unplanned: [],
    missing: [],
  });
  // Named before the downtime, its session ended once the applications were down, its writes to the old instance refused.
  assert.match(r.stderr, /other clients pod outsider \([^)]*admin@app1/, r.stderr);
  assert.ok(JSON.parse(r.stdout).timingsMs['source-read-only'] >= 0, 'the phase ran');
  const log = await outsiderLog(cp);
  assert.match(log, 'terminating connection due to administrator command');
  assert.match(log, /attempt: ERROR: {1,2}cannot execute INSERT in a read-only transaction/);
  const rep = JSON.parse(r.stdout) as { newInstance: string; fingerprint: { equal: boolean }; phase: string };
  assert.is(rep.newInstance, 'Deployment/postgres-v14');
  assert.ok(rep.fingerprint.equal);
  assert.equal(
    (rep as unknown as { validation: { summary: { fail: number } } }).validation.summary.fail,
    0,
    "the upgrade ends with validate's checks, all passing",
  );
  assert.is((await recordedState(cp, c.ns))?.phase, 'done');
  assert.equal(await selectorOf(cp, 'postgres'), { 'pgupgrade.kubectl.io/instance': 'postgres-v14' });
  assert.is(await replicasOf(cp, 'postgres'), 0, 'the old instance is scaled to 0');
  assert.is(await replicasOf(cp, APP), 1, 'the application is back');
  const pod = await podName(cp, c.ns, 'pgupgrade.kubectl.io/instance=postgres-v14');
  const sql = podSql(cp, c.ns, pod, 'admin');
  assert.is(
    await hostileRoleIsSuperuser(sql),
    false,
    'the dump never ran code of the hostile role as a superuser of the new instance',
  );
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 14);
  // The one difference: the new instance's superuser has the password of its Secret, hashed as 14 does (SCRAM).
  assert.equal(
    compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(await takeFingerprint(sql)), {
      extensionUpdates: true,
    }),
    ['role admin: password md5 → scram-sha-256'],
  );
  assert.match(r.stdout, "the target's own superuser differs, as it should");
  const writes = await waitForWrites(cp, c.ns, { app: APP, major: 14, moreThan: 3 });
  assert.ok((countWrites(writes).byMajor[12] ?? 0) > 10, JSON.stringify(countWrites(writes)));
  await assertWritesPresent(sql, await committedWrites(cp, c.ns, APP));
  // admin's own login is the plugin's (it read both fingerprints over TCP with its password); its password stays off command lines.
  for (const role of [SEED_ROLES.md5, SEED_ROLES.scram]) {
    assert.match(await viaService(cp, pod, role, 'app2'), /^14\d{4}$/, `${role.name} reaches 14 through the Service`);
  }
  const again = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '-y'], outputs);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stderr, 'nothing to do');
  // Issue 24, 4.10: an upgrade in place of the old instance, kept as the dump's way back, would destroy that way back.
  const kept = (await resourceVersions(cp, c.ns)) + (await svcVersions(cp));
  const inPlace = await upgradeCli(cp, ['-n', c.ns, 'deploy/postgres', '--to', '14', '-y'], outputs);
  assert.is(inPlace.code, 2, `${inPlace.stdout}\n${inPlace.stderr}`);
  assert.match(
    inPlace.stderr,
    `Deployment ${c.ns}/postgres is the old instance that the upgrade by dump to 14 keeps as its way back`,
  );
  assert.match(inPlace.stderr, '--discard-dump-rollback');
  assert.is((await resourceVersions(cp, c.ns)) + (await svcVersions(cp)), kept, 'nothing changed');
});

interface Check {
  id: string;
  status: string;
  found: string;
  details?: string[];
  fix?: string;
}

/** `validate -o json` of the namespace's upgrade (the source named by nothing: discovery finds it, scaled to 0). */
async function validate(
  cp: ControlPlane,
): Promise<{ code: number; stderr: string; checks: Check[]; by: (id: string) => Check }> {
  const r = await runAsync(
    requireBinary(),
    ['validate', '-n', c.ns, '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  const checks = (JSON.parse(r.stdout || '{"checks":[]}') as { checks: Check[] }).checks;
  const by = (id: string) =>
    checks.find((x) => x.id === id) ?? (assert.unreachable(`no check ${id}: ${r.stdout}\n${r.stderr}`) as never);
  return { code: r.code, stderr: r.stderr, checks, by };
}

// Issue 15, acceptance 1, the dump half: validate follows the record to the new instance and judges its data.
test('validate after the dump: it passes on the new instance; a row deleted behind its back, or one changed, fails with the diff', async () => {
  const { cp } = await sharedEnv();
  const ok = await validate(cp);
  assert.is(ok.code, 0, `${JSON.stringify(ok.checks, null, 1)}\n${ok.stderr}`);
  assert.equal(
    ok.checks.map((x) => x.id),
    ['server', 'connections', 'data', 'statistics', 'extensions', 'collations', 'applications', 'finished'],
  );
  assert.match(ok.by('server').found, /PostgreSQL 14\.\d+, Ready, 0 restarts/);
  assert.match(
    ok.by('data').found,
    /^equal, compared with the reference read from the source deploy\/postgres once the applications were down/,
  );
  assert.ok(
    ok.by('data').details?.some((d) => /public\.app_writes: rows \d+ → \d+; written since the upgrade/.test(d)),
    ok.by('data').details?.join('\n'),
  );
  assert.match(ok.by('connections').found, "but for admin (the new instance's own superuser");
  assert.match(ok.by('finished').found, '(--dump) is recorded done');
  const pod = await podName(cp, c.ns, 'pgupgrade.kubectl.io/instance=postgres-v14');
  const sql = podSql(cp, c.ns, pod, 'admin');
  // A session that the server does not count: its writes look, to validate, like a change nothing made (a loss).
  const behindItsBack = (text: string) => sql('app1', `SET track_counts = off;\n${text}`);
  const kept = (await sql('app1', 'SELECT row_to_json(o) FROM orders o WHERE id = 7')).trim();
  await behindItsBack('DELETE FROM orders WHERE id = 7');
  const gone = await validate(cp);
  assert.is(gone.code, 3, gone.stderr);
  assert.ok(
    gone
      .by('data')
      .details?.includes('FAIL database app1: table public.orders: rows 600 → 599, not written since the upgrade'),
    gone.by('data').details?.join('\n'),
  );
  assert.match(gone.by('data').fix ?? '', `kubectl pgupgrade upgrade -n ${c.ns} deploy/postgres --rollback`);
  await behindItsBack(`INSERT INTO orders SELECT * FROM json_populate_record(null::orders, '${kept}')`);
  await behindItsBack("UPDATE customers SET name = 'someone else' WHERE id = 3");
  const changed = await validate(cp);
  assert.is(changed.code, 3, changed.stderr);
  assert.ok(
    changed
      .by('data')
      .details?.includes(
        'FAIL database app1: table public.customers: content changed (rows 200), not written since the upgrade',
      ),
    changed.by('data').details?.join('\n'),
  );
  await behindItsBack("UPDATE customers SET name = 'customer 3' WHERE id = 3");
});

test('--rollback: the Service back, the old instance up with its data unchanged, the application writing on 12 again', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', c.ns, '--rollback', '-y'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, 'since the cutover is lost');
  assert.equal(await selectorOf(cp, 'postgres'), { 'k8s-app': 'postgres' });
  assert.is(await replicasOf(cp, 'postgres-v14'), 0, 'the new instance is stopped and kept');
  const pod = await podName(cp, c.ns, 'k8s-app=postgres');
  await waitReady(cp, c.ns, pod);
  const sql = podSql(cp, c.ns, pod, 'admin');
  assert.is(await hostileRoleIsSuperuser(sql), false, 'nor of the source, through the dump, validate and the rollback');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 12);
  assert.is(
    (await sql('postgres', 'show default_transaction_read_only')).trim(),
    'off',
    'the old instance is writable again',
  );
  assert.match(r.stderr + r.stdout, 'Make the old instance writable again');
  const tried = (await outsiderLog(cp)).split('\n').length;
  await waitFor(
    'an insert of the outsider committed on 12 again',
    async () =>
      (await outsiderLog(cp))
        .split('\n')
        .slice(tried)
        .some((l) => /^attempt: \d+ $/.test(l)),
    60_000,
  );
  await cp.kubectl(['-n', c.ns, 'delete', 'pod', OUTSIDER, '--wait=false']);
  assert.equal(
    compareFingerprints(withoutWrites(oldBefore), withoutWrites(await takeFingerprint(sql))),
    [],
    "the old instance's data is unchanged",
  );
  rolledBackJournal = await committedWrites(cp, c.ns, APP);
  const on12 = countWrites(rolledBackJournal).byMajor[12] ?? 0;
  await waitForWrites(cp, c.ns, { app: APP, major: 12, moreThan: on12 + 3 });
  assert.match(await viaService(cp, pod, SEED_ROLES.md5, 'app2'), /^12\d{4}$/);
});

test('after a rollback a new run is refused with the commands that clear the way; --no-cutover then leaves the Service and prints the patch', async () => {
  const { cp } = await sharedEnv();
  const refused = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '-y'], outputs);
  assert.is(refused.code, 2, refused.stderr);
  const clear = /remove it and its new instance first: kubectl (.*?); nothing was changed/.exec(refused.stderr)?.[1];
  assert.ok(clear, refused.stderr);
  await cp.kubectl(clear.split(' '));
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '--no-cutover', '-y'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(
    r.stdout,
    `kubectl -n ${c.ns} patch service postgres --type merge -p '{"spec":{"selector":{"k8s-app":null,"pgupgrade.kubectl.io/instance":"postgres-v14"}}}'`,
  );
  assert.equal(await selectorOf(cp, 'postgres'), { 'k8s-app': 'postgres' }, 'the Service is left alone');
  assert.is(await replicasOf(cp, 'postgres'), 1, 'the old instance keeps serving');
  const on12 = countWrites(await committedWrites(cp, c.ns, APP)).byMajor[12] ?? 0;
  await waitForWrites(cp, c.ns, { app: APP, major: 12, moreThan: on12 + 3 });
  // The new instance answers on its own Service, the md5 role included.
  const pod = await podName(cp, c.ns, 'pgupgrade.kubectl.io/instance=postgres-v14');
  const md5 = await cp.kubectl(
    [
      '-n',
      c.ns,
      'exec',
      pod,
      '--',
      'env',
      `PGPASSWORD=${SEED_ROLES.md5.password}`,
      'psql',
      '-X',
      '-A',
      '-t',
      '-h',
      'postgres-v14',
      '-U',
      SEED_ROLES.md5.name,
      '-d',
      'app2',
      '-c',
      'select count(*) from orders',
    ],
    { allowFail: true },
  );
  assert.is(md5.code, 0, md5.stderr);
  const back = await upgradeCli(cp, ['-n', c.ns, '--rollback', '-y'], outputs);
  assert.is(back.code, 0, `${back.stdout}\n${back.stderr}`);
  assert.match(back.stdout + back.stderr, 'it served all along (--no-cutover)');
  assert.is(await replicasOf(cp, 'postgres-v14'), 0);
});

test('SIGKILL of the plugin during the load: a re-run empties the new instance, loads it again, and completes with every write there', async () => {
  const { cp } = await sharedEnv();
  const refused = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '-y'], outputs);
  await cp.kubectl(
    (/remove it and its new instance first: kubectl (.*?); nothing was changed/.exec(refused.stderr)?.[1] ?? '').split(
      ' ',
    ),
  );
  const args = ['upgrade', '-n', c.ns, '--to', '14', '--method', 'dump', '-y'];
  const first = await runUntil(cp, args, /Dump the source and restore it/, async (kill) => {
    await new Promise((r) => setTimeout(r, 1500));
    kill('SIGKILL');
  });
  outputs.push({ code: first.code ?? -1, stdout: first.out, stderr: '' } as RunResult);
  const at = (await recordedDump(cp))?.phase;
  assert.ok(at && ['fingerprint', 'load-started', 'loaded'].includes(at), `killed at ${at}:\n${first.out}`);
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '14', '--method', 'dump', '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, `killed at ${at}; the re-run: ${r.stdout}\n${r.stderr}`);
  assert.equal(await selectorOf(cp, 'postgres'), { 'pgupgrade.kubectl.io/instance': 'postgres-v14' });
  const pod = await podName(cp, c.ns, 'pgupgrade.kubectl.io/instance=postgres-v14');
  await assertWritesPresent(podSql(cp, c.ns, pod, 'admin'), await committedWrites(cp, c.ns, APP), {
    rolledBack: { from: 14, journal: rolledBackJournal },
  });
  console.log(`\n  killed after "${at}", the re-run completed`);
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 6);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
