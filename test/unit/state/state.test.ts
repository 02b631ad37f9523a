import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../../src/exit-codes.ts';
import type { KObject } from '../../../src/k8s/cluster.ts';
import { objectStore } from '../doubles/object-store.ts';
import { dumpStateName } from '../../../src/state/dump-state.ts';
import { holderIdentity, leaseDecision } from '../../../src/state/lease-decision.ts';
import { leaseNameOf, lockRecord, takeLock } from '../../../src/state/lock.ts';
import { bindingProblem } from '../../../src/state/binding.ts';
import { parseState, stateProblem } from '../../../src/state/parse-state.ts';
import { stateConfigMap, upgradeNames, type UpgradeState } from '../../../src/state/state.ts';
import { saveState } from '../../../src/state/store.ts';
import { loadReference, storeReference } from '../../../src/state/reference.ts';
import { jobSpec } from '../doubles/job-spec.ts';

const test = suite("the upgrade's record: validated, bound to its workload, written under a lease");

const state: UpgradeState = {
  version: 1,
  workload: { kind: 'StatefulSet', name: 'db', replicas: 1 },
  workloadUid: 'uid-db',
  pvc: 'data-db-0',
  container: 'postgresql',
  from: 13,
  fromVersion: '13.22',
  to: 15,
  method: 'link',
  oldImage: 'bitnami/postgresql:13',
  targetImage: 'bitnami/postgresql:15',
  jobImage: jobSpec.image,
  apps: [{ kind: 'Deployment', name: 'app', replicas: 2 }],
  snapshot: 'snap',
  fingerprintConfigMap: 'f',
  job: jobSpec.name,
  jobSpec,
  phase: 'job',
  history: [{ phase: 'job', at: '2026-11-30T00:00:00.000Z' }],
};
const cmWith = (text: string): KObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'pgupgrade-state-db', namespace: 'ns' },
  data: { 'state.json': text },
});
const refusal = (fn: () => unknown): CliError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof CliError) return err;
    throw err;
  }
  throw new Error('not refused');
};

test('a valid record reads back; broken JSON, an unknown phase or a missing binding are refused with the ConfigMap and what to do', () => {
  assert.equal(parseState(stateConfigMap('pgupgrade-state-db', 'ns', state)), state);
  assert.is(parseState(undefined), undefined);
  const broken = refusal(() => parseState(cmWith('{"version": 1, "phase": ')));
  assert.is(broken.exitCode, 2);
  assert.match(
    broken.message,
    'ConfigMap ns/pgupgrade-state-db, the record of an upgrade, cannot be used: its state.json is not valid JSON',
  );
  assert.match(broken.message, 'kubectl -n ns get configmap pgupgrade-state-db -o yaml');
  assert.match(broken.message, 'kubectl -n ns delete configmap pgupgrade-state-db');
  assert.match(
    refusal(() => parseState(cmWith(JSON.stringify({ ...state, phase: 'teleported' })))).message,
    'its phase "teleported" is none of preflight,',
  );
  const { workloadUid: _, ...unbound } = state;
  assert.match(stateProblem(unbound) ?? '', 'UID');
  assert.match(refusal(() => parseState({ ...cmWith(''), data: {} })).message, 'it has no state.json');
});

test('the validator names the field that is wrong', () => {
  const cases: Array<[unknown, string]> = [
    [[], 'not a JSON object'],
    [{ ...state, version: 2 }, 'version is 2'],
    [{ ...state, workload: { kind: 'DaemonSet', name: 'x', replicas: 1 } }, 'workload'],
    [{ ...state, targetImage: 5 }, 'targetImage'],
    [{ ...state, to: 13 }, 'not an upgrade'],
    [{ ...state, method: 'rsync' }, 'method "rsync"'],
    [{ ...state, apps: [{ kind: 'Deployment', name: 'a' }] }, 'apps'],
    [{ ...state, snapshot: '' }, 'snapshot'],
    [{ ...state, jobSpec: { ...jobSpec, claim: 'data-other-0' } }, 'jobSpec'],
    [{ ...state, history: [{ phase: 'x', at: '' }] }, 'history'],
  ];
  const relayout = {
    fromMount: '/var/lib/postgresql/data',
    toMount: '/var/lib/postgresql',
    pgdata: '/var/lib/postgresql/15/docker',
    pgdataEnv: null,
  };
  const laidOut = { ...state, relayout, jobSpec: { ...jobSpec, pgdata: relayout.pgdata, root: relayout.toMount } };
  cases.push(
    [{ ...laidOut, relayout: { ...relayout, pgdata: '/elsewhere' } }, 'relayout'],
    [{ ...laidOut, relayout: { ...relayout, pgdataEnv: 3 } }, 'relayout'],
  );
  for (const [raw, what] of cases) assert.match(stateProblem(raw) ?? 'accepted', what, what);
  assert.is(stateProblem(JSON.parse(JSON.stringify(state))), undefined);
  assert.is(stateProblem(JSON.parse(JSON.stringify(laidOut))), undefined);
});

test("a record is bound to the workload's UID and PVC", () => {
  const found = { kind: 'StatefulSet', name: 'db', uid: 'uid-db', pvc: 'data-db-0' };
  assert.is(bindingProblem(state, found, 'ns', 'cm'), undefined);
  assert.match(
    bindingProblem(state, { ...found, uid: 'uid-new' }, 'ns', 'cm') ?? '',
    'not of the StatefulSet db found now (UID uid-new, PVC data-db-0)',
  );
  assert.ok(bindingProblem(state, { ...found, pvc: 'data-db-1' }, 'ns', 'cm'));
  assert.ok(bindingProblem(state, { ...found, name: 'db2' }, 'ns', 'cm'));
});

test('names: unchanged up to 40 characters; longer ones that share a prefix differ; all within their limits', () => {
  assert.equal(upgradeNames('circleci-postgresql', 15), {
    state: 'pgupgrade-state-circleci-postgresql',
    fingerprint: 'pgupgrade-fingerprint-circleci-postgresql',
    job: 'pgupgrade-circleci-postgresql-to-15',
    rehearsal: 'pgupgrade-rehearsal-circleci-postgresql',
  });
  const prefix = `${'a'.repeat(39)}-`;
  const one = upgradeNames(`${prefix}first`, 15);
  const two = upgradeNames(`${prefix}other`, 15);
  assert.is(`${prefix}first`.length, 45);
  for (const k of ['state', 'fingerprint', 'job'] as const) assert.is.not(one[k], two[k], k);
  // The rollback Job keeps the first 52 characters of the Job's name: the hash must survive that cut.
  assert.is.not(one.job.slice(0, 52), two.job.slice(0, 52));
  assert.is.not(upgradeNames('b'.repeat(40), 15).state, upgradeNames(`${'b'.repeat(40)}x`, 15).state);
  for (const w of ['x', 'a'.repeat(40), 'a'.repeat(41), `${'a.'.repeat(30)}b`, 'w'.repeat(253)]) {
    const n = upgradeNames(w, 99);
    for (const v of [...Object.values(n), leaseNameOf(n.state)]) assert.ok(v.length <= 63, v);
    for (const v of Object.values(n)) assert.match(v, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, v);
    assert.not.match(n.job, /\.-|-\./);
  }
});

test('who may take the lease: free, expired, or a holder on this host whose process is gone', () => {
  const now = new Date('2026-11-30T12:00:30Z');
  const alive = (pid: number) => pid === 100;
  const lease = (holder: string, renew: string) => ({
    holderIdentity: holder,
    leaseDurationSeconds: 20,
    acquireTime: '2026-11-30T11:50:00.000000Z',
    renewTime: renew,
  });
  assert.equal(leaseDecision(undefined, now, 'h1', alive), { take: true, why: 'free' });
  assert.ok(leaseDecision({ holderIdentity: '' }, now, 'h1', alive).take);
  assert.match(
    JSON.stringify(leaseDecision(lease('h2:100:ab', '2026-11-30T12:00:05.000000Z'), now, 'h1', alive)),
    'expired',
  );
  assert.equal(
    leaseDecision(lease('h2:200:ab', '2026-11-30T12:00:25.000000Z'), now, 'h1', alive),
    { take: false, holder: 'h2:200:ab', since: '2026-11-30T11:50:00.000000Z', expiresInSeconds: 15 },
    'another host: its pids mean nothing here',
  );
  assert.is(
    leaseDecision(lease('h1:100:ab', '2026-11-30T12:00:25.000000Z'), now, 'h1', alive).take,
    false,
    'same host, alive',
  );
  assert.match(
    JSON.stringify(leaseDecision(lease('h1:200:ab', '2026-11-30T12:00:25.000000Z'), now, 'h1', alive)),
    'process is gone',
  );
  assert.match(holderIdentity('node-a', 42), /^node-a:42:[0-9a-f]{8}$/);
});

/** An in-memory double of the four object calls, with the apiserver's resourceVersion rules (409 on a stale one). */
test('the lease: a second run is refused naming the holder; released, it can be taken; a record changed meanwhile is refused', async () => {
  const c = objectStore();
  const first = await takeLock(c, 'ns', 'pgupgrade-state-db', 'StatefulSet/db');
  const lease = c.objects.get('Lease/ns/pgupgrade-lock-db');
  assert.match(String(lease?.spec?.holderIdentity), `:${process.pid}:`);
  assert.match(String(lease?.spec?.renewTime), /\.\d{6}Z$/);
  const refused = await takeLock(c, 'ns', 'pgupgrade-state-db', 'StatefulSet/db').catch((e: CliError) => e);
  assert.instance(refused, CliError);
  assert.is((refused as CliError).exitCode, 1);
  assert.match(
    (refused as CliError).message,
    `holds the lock of this upgrade, Lease ns/pgupgrade-lock-db: ${String(lease?.spec?.holderIdentity)}, since`,
  );
  first.assertHeld();
  await first.release();
  assert.is(c.objects.has('Lease/ns/pgupgrade-lock-db'), false);
  await c.createObject(stateConfigMap('pgupgrade-state-db', 'ns', state));
  const stale = await lockRecord(c, 'ns', 'pgupgrade-state-db', 'StatefulSet/db', undefined).catch((e: CliError) => e);
  assert.match((stale as CliError).message, 'changed while this run was planning');
  assert.is(c.objects.has('Lease/ns/pgupgrade-lock-db'), false, 'released again');
});

test('one Lease per workload whatever the method: a dump run is refused while an in-place run holds it', async () => {
  const c = objectStore();
  assert.is(leaseNameOf(dumpStateName('db')), leaseNameOf('pgupgrade-state-db'));
  const inPlace = await takeLock(c, 'ns', 'pgupgrade-state-db', 'StatefulSet/db');
  const dump = await takeLock(c, 'ns', dumpStateName('db'), 'StatefulSet/db').catch((e: CliError) => e);
  assert.instance(dump, CliError);
  assert.match((dump as CliError).message, 'Lease ns/pgupgrade-lock-db');
  await inPlace.release();
  const other = await takeLock(c, 'ns', dumpStateName('other'), 'StatefulSet/other');
  await other.release();
});

test('the record is written over the version last seen: another writer is a clear stop, not an overwrite', async () => {
  const c = objectStore();
  const v1 = await saveState(c, 'ns', 'pgupgrade-state-db', state, undefined);
  const v2 = await saveState(c, 'ns', 'pgupgrade-state-db', { ...state, phase: 'workload-patched' }, v1);
  assert.ok(v2 && v2 !== v1);
  const err = await saveState(c, 'ns', 'pgupgrade-state-db', { ...state, phase: 'db-up' }, v1).catch(
    (e: CliError) => e,
  );
  assert.match((err as CliError).message, 'was changed by someone else while this run went on');
  assert.is(parseState(c.objects.get('ConfigMap/ns/pgupgrade-state-db'))?.phase, 'workload-patched');
  const again = await saveState(c, 'ns', 'pgupgrade-state-db', state, undefined).catch((e: CliError) => e);
  assert.instance(again, CliError, 'created by another run meanwhile');
});

test("a stored reference read from another snapshot is an earlier upgrade's, not this one's (rolled back, then started again)", async () => {
  const cluster = objectStore();
  const fp = {
    databases: {},
    roles: {},
    perDb: {
      app: {
        tables: { 'public.t': { rows: 69, checksum: '1' } },
        sequences: {},
        extensions: {},
        objects: [],
        largeObjects: { count: 0, checksum: '0' },
      },
    },
  };
  const first = { ...state, snapshot: 'snap-first' };
  await storeReference(cluster, 'ns', 'ref', first, { fingerprint: fp, source: 'snapshot snap-first' });
  assert.equal((await loadReference(cluster, 'ns', 'ref', first))?.fingerprint, fp);
  assert.is(await loadReference(cluster, 'ns', 'ref', { ...state, snapshot: 'snap-second' }), undefined);
  assert.is(await loadReference(cluster, 'ns', 'ref', { ...state, snapshot: null }), undefined);
});

test.run();
