import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../../src/exit-codes.ts';
import type { KObject } from '../../../src/k8s/cluster.ts';
import { RECORD_KEY_SECRET, SEAL_ANNOTATION, sealOf, sealProblem } from '../../../src/state/seal.ts';
import { readRecordMap, saveRecord } from '../../../src/state/store.ts';
import { objectStore } from '../doubles/object-store.ts';

const test = suite('records are sealed: one changed outside the plugin is refused, never acted on');
const record = (json: object): KObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'pgupgrade-state-db', namespace: 'ns' },
  data: { 'state.json': JSON.stringify(json) },
});
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'pgupgrade-state-db' };
const refused = async (p: Promise<unknown>): Promise<CliError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, CliError, 'refused');
  return err as CliError;
};

test('the seal is an HMAC of the data under the key: another key, value or field gives another seal', () => {
  const data = { 'state.json': '{"target":{"pvc":"data-db-v15"}}' };
  assert.match(sealOf('k', data), /^v1:[0-9a-f]{64}$/);
  assert.is(sealOf('k', data), sealOf('k', { ...data }));
  assert.is.not(sealOf('k', data), sealOf('other', data));
  assert.is.not(sealOf('k', data), sealOf('k', { 'state.json': '{"target":{"pvc":"data-prod-0"}}' }));
  assert.is.not(sealOf('k', data), sealOf('k', { ...data, extra: '' }));
  const cm = { data, metadata: { annotations: { [SEAL_ANNOTATION]: sealOf('k', data) } } };
  assert.is(sealProblem(cm, 'k'), undefined);
  assert.match(sealProblem(cm, 'other') ?? '', 'changed outside kubectl pgupgrade');
  assert.match(sealProblem(cm, undefined) ?? '', `the Secret ${RECORD_KEY_SECRET} that holds the key is gone`);
  assert.match(sealProblem({ data, metadata: {} }, 'k') ?? '', 'carries no seal');
});

test('a record written by the plugin reads back; the key is made once, in a Secret, and never in the ConfigMap', async () => {
  const c = objectStore();
  const v1 = await saveRecord(c, record({ phase: 'preflight' }), 'preflight', undefined);
  await saveRecord(c, record({ phase: 'job' }), 'job', v1);
  assert.equal(JSON.parse((await readRecordMap(c, 'ns', 'pgupgrade-state-db'))?.data?.['state.json'] ?? ''), {
    phase: 'job',
  });
  const keys = [...c.objects.keys()].filter((k) => k.startsWith('Secret/'));
  assert.equal(keys, [`Secret/ns/${RECORD_KEY_SECRET}`]);
  const key = await c.readSecretKey('ns', RECORD_KEY_SECRET, 'hmac-key');
  assert.match(key ?? '', /^[0-9a-f]{64}$/);
  assert.not.match(JSON.stringify(c.objects.get('ConfigMap/ns/pgupgrade-state-db')), key ?? '-');
  assert.is(await readRecordMap(c, 'ns', 'no-such-record'), undefined);
});

test('a record whose data someone changed (a PVC to delete, an image to run) is refused, exit 2, with what to do', async () => {
  const c = objectStore();
  await saveRecord(c, record({ target: { pvc: 'data-db-v15' } }), 'preflight', undefined);
  await c.patchObject(
    ref,
    { data: { 'state.json': JSON.stringify({ target: { pvc: 'data-production-0' } }) } },
    'merge',
  );
  const err = await refused(readRecordMap(c, 'ns', 'pgupgrade-state-db'));
  assert.is(err.exitCode, 2);
  assert.match(
    err.message,
    'ConfigMap ns/pgupgrade-state-db, the record of an upgrade, cannot be used: its seal does not match its data',
  );
  assert.match(err.message, 'kubectl -n ns get configmap pgupgrade-state-db -o yaml');
});

test('a seal copied from another namespace, a record made by hand, or a deleted key: each refused', async () => {
  const c = objectStore();
  await saveRecord(c, record({ phase: 'done' }), 'done', undefined);
  const sealed = c.objects.get('ConfigMap/ns/pgupgrade-state-db') as KObject;
  await c.createObject({ ...sealed, metadata: { ...sealed.metadata, namespace: 'other', resourceVersion: undefined } });
  await saveRecord(c, { ...record({}), metadata: { name: 'unrelated', namespace: 'other' } }, 'preflight', undefined);
  assert.match((await refused(readRecordMap(c, 'other', 'pgupgrade-state-db'))).message, 'its seal does not match');
  await c.createObject({ ...record({ phase: 'done' }), metadata: { name: 'by-hand', namespace: 'ns' } });
  assert.match((await refused(readRecordMap(c, 'ns', 'by-hand'))).message, 'carries no seal');
  await c.deleteObject({ apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: RECORD_KEY_SECRET });
  assert.match((await refused(readRecordMap(c, 'ns', 'pgupgrade-state-db'))).message, 'the key is gone or unreadable');
});

test.run();
