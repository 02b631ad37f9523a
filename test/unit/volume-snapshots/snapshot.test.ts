import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildFingerprintConfigMap,
  buildRestorePvc,
  buildVolumeSnapshot,
  derivedName,
  snapshotName,
} from '../../../src/manifests/snapshot.ts';
import {
  pickSnapshotClass,
  snapshotRecord,
  snapshotState,
  snapshotTable,
} from '../../../src/volume-snapshots/record.ts';

const test = suite('snapshot manifests and records');
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const at = new Date('2026-11-23T10:59:47.288Z');

test('names are valid DNS subdomains within 253 characters, even from the longest PVC names', () => {
  assert.is(snapshotName('data-postgresql-0', at), 'data-postgresql-0-pgupgrade-20261123-105947');
  const long = snapshotName(`${'a'.repeat(240)}-x`, at);
  assert.ok(long.length <= 253 && DNS_SUBDOMAIN.test(long), long);
  const d = derivedName(long, 'fingerprint');
  assert.ok(d.length <= 253 && d.endsWith('-fingerprint') && DNS_SUBDOMAIN.test(d), d);
});

test('the VolumeSnapshot is labelled as ours and annotated; a workload name too long for a label stays in the annotation only', () => {
  const base = {
    namespace: 'ns',
    workloadKind: 'StatefulSet',
    pvc: 'data-pg-0',
    className: 'csi-snap',
    pgVersion: '13.22',
    pgMajor: 13,
    takenAt: at,
    consistency: 'crash-consistent' as const,
    reason: 'snapshot command',
  };
  const vs = buildVolumeSnapshot({ ...base, workloadName: 'postgresql' });
  assert.equal(vs.spec, { volumeSnapshotClassName: 'csi-snap', source: { persistentVolumeClaimName: 'data-pg-0' } });
  assert.is(vs.metadata.labels?.['app.kubernetes.io/managed-by'], 'kubectl-pgupgrade');
  assert.is(vs.metadata.labels?.['pgupgrade.kubectl.io/workload'], 'postgresql');
  assert.is(vs.metadata.labels?.['pgupgrade.kubectl.io/pg-major'], '13');
  assert.is(vs.metadata.annotations?.['pgupgrade.kubectl.io/taken-at'], at.toISOString());
  const long = buildVolumeSnapshot({ ...base, workloadName: 'p'.repeat(70) });
  assert.is(long.metadata.labels?.['pgupgrade.kubectl.io/workload'], undefined);
  assert.is(long.metadata.annotations?.['pgupgrade.kubectl.io/workload'], `StatefulSet/${'p'.repeat(70)}`);
});

test('the restore PVC comes from the snapshot; the fingerprint ConfigMap is owned by it', () => {
  const pvc = buildRestorePvc({
    name: 'x-verify',
    namespace: 'ns',
    snapshot: 'x',
    storageClassName: 'fast',
    bytes: 1048576,
  });
  assert.equal(pvc.spec?.dataSource, { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'x' });
  assert.equal(pvc.spec?.resources, { requests: { storage: '1048576' } });
  const cm = buildFingerprintConfigMap({
    snapshot: 'x',
    snapshotUid: 'u-1',
    namespace: 'ns',
  });
  assert.equal(cm.metadata.ownerReferences, [
    { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', name: 'x', uid: 'u-1' },
  ] as never);
  assert.is(cm.metadata.name, 'x-fingerprint');
});

test('a record reads our annotations and the status; states are pending, cut, ready or failed', () => {
  const vs = buildVolumeSnapshot({
    namespace: 'ns',
    workloadKind: 'Deployment',
    workloadName: 'postgres',
    pvc: 'pgdata',
    className: 'c',
    pgVersion: '13',
    pgMajor: 13,
    takenAt: at,
    consistency: 'stopped',
    reason: 'snapshot command',
  });
  const r = snapshotRecord(vs);
  assert.is(r.workload, 'Deployment/postgres');
  assert.is(snapshotState(r), 'pending');
  assert.is(
    snapshotState(snapshotRecord({ ...vs, status: { creationTime: '2026-11-23T11:00:00Z', readyToUse: false } })),
    'cut',
  );
  const ready = snapshotRecord({
    ...vs,
    status: { creationTime: '2026-11-23T11:00:00Z', readyToUse: true, restoreSize: '61777422' },
  });
  assert.is(snapshotState(ready), 'ready');
  assert.is(ready.restoreSizeBytes, 61777422);
  assert.is(
    snapshotRecord({ ...vs, status: { restoreSize: '10Gi' } }).restoreSizeBytes,
    10 * 2 ** 30,
    'a quantity, not the digits of one',
  );
  assert.is(snapshotRecord({ ...vs, status: { restoreSize: '1500M' } }).restoreSizeBytes, 1.5e9);
  assert.is(snapshotRecord({ ...vs, status: { restoreSize: 'lots' } }).restoreSizeBytes, null);
  assert.is(snapshotState(snapshotRecord({ ...vs, status: { error: { message: 'quota exceeded' } } })), 'failed');
  assert.match(snapshotTable([r, ready]), /^NAME\s+WORKLOAD/);
  assert.is(snapshotTable([]), 'no snapshots made by kubectl-pgupgrade in this namespace');
});

test("the snapshot class: the driver's default, else its only class; otherwise a reason", () => {
  const classes = [
    { name: 'a', driver: 'd1', isDefault: false },
    { name: 'b', driver: 'd1', isDefault: true },
    { name: 'c', driver: 'd2', isDefault: false },
  ];
  assert.equal(pickSnapshotClass(classes, 'd1'), { name: 'b' });
  assert.equal(pickSnapshotClass(classes, 'd2'), { name: 'c' });
  assert.match(
    (pickSnapshotClass(classes, 'd3') as { problem: string }).problem,
    "no VolumeSnapshotClass for the PVC's CSI driver d3",
  );
  assert.match(
    (
      pickSnapshotClass(classes.slice(0, 1).concat({ name: 'e', driver: 'd1', isDefault: false }), 'd1') as {
        problem: string;
      }
    ).problem,
    'pass --snapshot-class',
  );
  assert.match((pickSnapshotClass(classes, 'd1', 'c') as { problem: string }).problem, 'is for driver d2');
  assert.equal(pickSnapshotClass(classes, 'd1', 'a'), { name: 'a' });
});

test.run();
