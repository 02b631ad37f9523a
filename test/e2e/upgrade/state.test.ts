import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import {
  applyObjects,
  createNamespace,
  podName,
  podSql,
  releaseNamespaces,
  waitReady,
} from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { assertWritesPresent, committedWrites, withoutWrites } from '../../support/pg/writes.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import type { KObject } from '../../../src/k8s/cluster.ts';
import { applySealedRecord } from '../../support/kube/sealed.ts';
import { stateConfigMap, type UpgradeState } from '../../../src/state/state.ts';
import { dumpStateConfigMap, dumpStateName, type DumpState } from '../../../src/state/dump-state.ts';

const test = suite(
  "the upgrade's record and lock: refused when broken or foreign, one run at a time, a killed run taken over",
);
const PASSWORD = 'State-E2E-S3cret';
const POD = 'circleci-postgresql-0';
const STATE = 'pgupgrade-state-circleci-postgresql';
const LEASE = STATE.replace(/^pgupgrade-state-/, 'pgupgrade-lock-');
const UPGRADE = ['--to', '15', '--method', 'link', '-y'];
const ns = {
  record: uniqueNamespace('st-record'),
  race: uniqueNamespace('st-race'),
  killed: uniqueNamespace('st-killed'),
};
const before: Record<string, Fingerprint> = {};

const kubectlPgupgrade = (cp: ControlPlane, args: string[]): Promise<RunResult> =>
  runAsync(requireBinary(), args, { KUBECONFIG: cp.kubeconfig }, 300_000);

async function deploy(cp: ControlPlane, namespace: string): Promise<void> {
  await createNamespace(cp, namespace, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  await applyObjects(cp, bitnamiFixture({ namespace, major: 13, password: PASSWORD }));
  await waitReady(cp, namespace, await podName(cp, namespace, 'app.kubernetes.io/name=postgresql'));
  await seedCluster(podSql(cp, namespace, POD, 'postgres'), { rows: 100 });
  before[namespace] = await takeFingerprint(podSql(cp, namespace, POD, 'postgres'));
}

async function resourceVersions(cp: ControlPlane, namespace: string): Promise<string> {
  const r = await cp.kubectl([
    '-n',
    namespace,
    'get',
    'statefulsets,deployments,pods,pvc,configmaps,jobs,volumesnapshots,leases',
    '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}',
  ]);
  return r.stdout;
}

/** Checks that the namespace's database was upgraded to 15 with its data equal. */
async function upgraded(cp: ControlPlane, namespace: string): Promise<void> {
  await waitReady(cp, namespace, await podName(cp, namespace, 'app.kubernetes.io/name=postgresql'));
  const sql = podSql(cp, namespace, POD, 'postgres');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 15);
  // The fixture's application writes all along: its own table is checked by its journal, the rest must be equal.
  assert.equal(
    compareFingerprints(withoutWrites(before[namespace] as Fingerprint), withoutWrites(await takeFingerprint(sql)), {
      extensionUpdates: true,
    }),
    [],
  );
  await assertWritesPresent(sql, await committedWrites(cp, namespace));
  const lease = await cp.kubectl(['-n', namespace, 'get', 'lease', LEASE], { allowFail: true });
  assert.is.not(lease.code, 0, 'the lock is released at the end');
}

test('set up: three databases, seeded and fingerprinted', async () => {
  const { cp } = await sharedEnv();
  await Promise.all(Object.values(ns).map((n) => deploy(cp, n)));
  assert.is(Object.keys(before).length, 3);
});

test('a record made by hand (broken JSON, no seal): upgrade and --rollback say which ConfigMap and what to do, exit 2, and change nothing', async () => {
  const { cp } = await sharedEnv();
  await applyObjects(cp, [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: STATE, namespace: ns.record },
      data: { 'state.json': '{"version": 1, "phase": ' },
    },
  ]);
  const rv = await resourceVersions(cp, ns.record);
  for (const args of [UPGRADE, ['--rollback', '-y']]) {
    const r = await kubectlPgupgrade(cp, ['upgrade', '-n', ns.record, ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      `ConfigMap ${ns.record}/${STATE}, the record of an upgrade, cannot be used: it carries no seal`,
    );
    assert.match(r.stderr, `kubectl -n ${ns.record} get configmap ${STATE} -o yaml`);
    assert.match(r.stderr, `kubectl -n ${ns.record} delete configmap ${STATE}`);
    assert.not.match(r.stderr, /SyntaxError|\n\s+at /);
  }
  assert.is(await resourceVersions(cp, ns.record), rv, 'nothing changed');
});

test('a record made for another workload UID is refused by upgrade and --rollback, and nothing changes', async () => {
  const { cp } = await sharedEnv();
  const pvc = `data-${POD}`;
  const jobSpec = {
    name: 'pgupgrade-circleci-postgresql-to-15',
    namespace: ns.record,
    workload: 'StatefulSet/circleci-postgresql',
    image: 'tianon/postgres-upgrade:13-to-15',
    claim: pvc,
    mountPath: '/bitnami/postgresql',
    pgdata: '/bitnami/postgresql/data',
    from: 13,
    to: 15,
    method: 'link' as const,
    installUser: 'postgres',
    removedSettings: [],
    initdb: [],
    uid: 1001,
    gid: 1001,
  };
  // The record of an earlier StatefulSet of the same name (deleted and created again), stopped after its fingerprint.
  const foreign: UpgradeState = {
    version: 1,
    workload: { kind: 'StatefulSet', name: 'circleci-postgresql', replicas: 1 },
    workloadUid: '00000000-0000-0000-0000-000000000000',
    pvc,
    container: 'postgresql',
    from: 13,
    fromVersion: '13.22',
    to: 15,
    method: 'link',
    oldImage: 'bitnami/postgresql:13',
    targetImage: 'bitnami/postgresql:15',
    jobImage: jobSpec.image,
    apps: [{ kind: 'Deployment', name: 'circleci-frontend', replicas: 1 }],
    snapshot: null,
    fingerprintConfigMap: 'pgupgrade-fingerprint-circleci-postgresql',
    job: jobSpec.name,
    jobSpec,
    phase: 'fingerprint',
    history: [{ phase: 'fingerprint', at: new Date().toISOString() }],
  };
  await cp.kubectl(['-n', ns.record, 'delete', 'configmap', STATE]);
  await applySealedRecord(cp, stateConfigMap(STATE, ns.record, foreign));
  const uid = (
    await cp.kubectl(['-n', ns.record, 'get', 'sts', 'circleci-postgresql', '-o', 'jsonpath={.metadata.uid}'])
  ).stdout.trim();
  const rv = await resourceVersions(cp, ns.record);
  for (const args of [UPGRADE, ['--rollback', '-y']]) {
    const r = await kubectlPgupgrade(cp, ['upgrade', '-n', ns.record, ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      `it records an upgrade of StatefulSet circleci-postgresql (UID ${foreign.workloadUid}, PVC ${pvc}), not of the StatefulSet ` +
        `circleci-postgresql found now (UID ${uid}, PVC ${pvc})`,
    );
  }
  assert.is(await resourceVersions(cp, ns.record), rv, 'nothing changed');
  // The same for the record of an upgrade by dump: its --rollback would scale and patch what a stale record names.
  await cp.kubectl(['-n', ns.record, 'delete', 'configmap', STATE]);
  const dump: DumpState = {
    version: 1,
    method: 'dump',
    workload: foreign.workload,
    workloadUid: foreign.workloadUid,
    pvc,
    container: 'postgresql',
    from: 13,
    fromVersion: '13.22',
    to: 15,
    target: {
      kind: 'StatefulSet',
      name: 'circleci-postgresql-v15',
      pvc: 'data-circleci-postgresql-v15-0',
      service: 'circleci-postgresql-v15',
      image: 'bitnami/postgresql:15',
      superuser: 'postgres',
      container: 'postgresql',
      md5Logins: true,
    },
    services: [],
    apps: foreign.apps,
    settings: [],
    jobs: 1,
    cutover: true,
    phase: 'cutover',
    history: [],
  };
  await applySealedRecord(cp, dumpStateConfigMap(dumpStateName('circleci-postgresql'), ns.record, dump));
  const rvDump = await resourceVersions(cp, ns.record);
  const r = await kubectlPgupgrade(cp, ['upgrade', '-n', ns.record, '--rollback', '-y']);
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    `it records an upgrade of StatefulSet circleci-postgresql (UID ${foreign.workloadUid}, PVC ${pvc}), not of the StatefulSet`,
  );
  assert.is(await resourceVersions(cp, ns.record), rvDump, 'nothing changed');
  await cp.kubectl(['-n', ns.record, 'delete', 'configmap', dumpStateName('circleci-postgresql')]);
});

test('two upgrades at once: exactly one proceeds, the other is refused naming the holder; the data ends upgraded and equal', async () => {
  const { cp } = await sharedEnv();
  const runs = await Promise.all([0, 1].map(() => kubectlPgupgrade(cp, ['upgrade', '-n', ns.race, ...UPGRADE])));
  const all = runs.map((r) => `exit ${r.code}\n${r.stdout}${r.stderr}`).join('\n----\n');
  assert.equal(runs.map((r) => r.code).sort(), [0, 1], all);
  const refused = runs.find((r) => r.code === 1) as RunResult;
  assert.match(
    refused.stderr,
    new RegExp(
      `another run of kubectl pgupgrade holds the lock of this upgrade, Lease ${ns.race}/${LEASE}: ` +
        `${hostname().replace(/[.]/g, '\\.')}:\\d+:[0-9a-f]{8}, since \\d{4}-\\d\\d-\\d\\dT`,
    ),
    all,
  );
  await upgraded(cp, ns.race);
});

test("a finished upgrade's record edited by someone who may edit ConfigMaps (the image cleanup runs with the data mounted): cleanup and --rollback refuse it, exit 2, and change nothing", async () => {
  const { cp } = await sharedEnv();
  const cm = JSON.parse((await cp.kubectl(['-n', ns.race, 'get', 'configmap', STATE, '-o', 'json'])).stdout) as KObject;
  const s = JSON.parse(cm.data?.['state.json'] ?? '{}') as UpgradeState;
  const tampered = { ...s, jobSpec: { ...s.jobSpec, image: 'busybox' }, jobImage: 'busybox' };
  await cp.kubectl([
    '-n',
    ns.race,
    'patch',
    'configmap',
    STATE,
    '--type',
    'merge',
    '-p',
    JSON.stringify({ data: { 'state.json': JSON.stringify(tampered) } }),
  ]);
  const rv = await resourceVersions(cp, ns.race);
  for (const args of [
    ['cleanup', '-n', ns.race, '-y', '--force'],
    ['upgrade', '-n', ns.race, '--rollback', '-y'],
  ]) {
    const r = await kubectlPgupgrade(cp, args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(
      r.stderr,
      `ConfigMap ${ns.race}/${STATE}, the record of an upgrade, cannot be used: its seal does not match its data`,
    );
  }
  assert.is(await resourceVersions(cp, ns.race), rv, 'nothing changed');
  assert.is(
    (
      await cp.kubectl([
        '-n',
        ns.race,
        'get',
        'jobs',
        '-o',
        'jsonpath={.items[*].spec.template.spec.containers[*].image}',
      ])
    ).stdout.includes('busybox'),
    false,
  );
});

test('the plugin killed with SIGKILL leaves its lease; a re-run at once takes it over and completes', async () => {
  const { cp } = await sharedEnv();
  const child = spawn(requireBinary(), ['upgrade', '-n', ns.killed, ...UPGRADE], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: cp.kubeconfig },
  });
  let out = '';
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  const onText = (d: Buffer) => {
    out += d.toString();
    if (/✔ Scale the applications down/.test(out)) child.kill('SIGKILL');
  };
  child.stdout.on('data', onText);
  child.stderr.on('data', onText);
  await closed;
  assert.is(child.signalCode, 'SIGKILL', out);
  const holder = (
    await cp.kubectl(['-n', ns.killed, 'get', 'lease', LEASE, '-o', 'jsonpath={.spec.holderIdentity}'], {
      allowFail: true,
    })
  ).stdout;
  assert.match(holder, `${hostname()}:${child.pid}:`, "the killed run's lease is left behind");
  const r = await kubectlPgupgrade(cp, ['upgrade', '-n', ns.killed, ...UPGRADE]);
  assert.is(r.code, 0, `${out}\n----\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, `Took the lock, Lease ${LEASE}: taken over from ${holder}, whose process is gone.`);
  await upgraded(cp, ns.killed);
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
