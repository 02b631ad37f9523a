import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Container } from '../../../src/k8s/pod-spec.ts';
import type { Workload } from '../../../src/k8s/cluster.ts';
import {
  buildDumpTarget,
  bytesQuantity,
  dumpTargetSecret,
  dumpTargetName,
  targetSize,
  targetSizeProblem,
  type DumpTargetSpec,
} from '../../../src/manifests/dump-target.ts';
import { dumpTargetLabels } from '../../../src/manifests/dump-target-pod.ts';
import { serviceMoved, serviceRestorePatch, serviceSelectorPatch } from '../../../src/manifests/service-cutover.ts';
import { OWNED_LABELS } from '../../../src/manifests/probe-pod.ts';
import { selectorMatches } from '../../../src/postgres/dump-identity.ts';

const test = suite(
  "the dump method's new instance: named with a version, its own PVC, the family's layout, restricted, not yet behind the Service",
);

const container: Container = {
  name: 'postgresql',
  image: 'bitnami/postgresql:13.4.0',
  env: [{ name: 'POSTGRESQL_PASSWORD', valueFrom: { secretKeyRef: { name: 'pg', key: 'postgres-password' } } }],
  volumeMounts: [{ name: 'data', mountPath: '/bitnami/postgresql' }],
  resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
};
const sts: Workload = {
  kind: 'StatefulSet',
  metadata: { name: 'postgresql', namespace: 'circleci-server', uid: 'u1' },
  replicas: 1,
  selector: { 'app.kubernetes.io/name': 'postgresql' },
  volumeClaimTemplates: ['data'],
  template: {
    metadata: { labels: { 'app.kubernetes.io/name': 'postgresql' } },
    spec: {
      containers: [container],
      imagePullSecrets: [{ name: 'regcred' }],
      nodeSelector: { disk: 'ssd' },
      securityContext: { runAsUser: 1001, fsGroup: 1001 },
    },
  },
};
const spec: DumpTargetSpec = {
  namespace: 'circleci-server',
  major: 17,
  image: 'postgres:17',
  source: {
    workload: sts,
    container,
    flavour: 'bitnami',
    pvc: {
      metadata: { name: 'data-postgresql-0' },
      storageClassName: 'standard',
      accessModes: ['ReadWriteOnce'],
      capacityBytes: 8 * 2 ** 30,
    },
  },
  superuser: { user: 'postgres', secret: { name: 'pg', key: 'postgres-password' } },
  md5Logins: true,
  serviceSelectors: [{ 'app.kubernetes.io/name': 'postgresql' }],
};

type PodTemplate = {
  metadata: { labels: Record<string, string> };
  spec: {
    securityContext: object;
    imagePullSecrets: object;
    nodeSelector: object;
    containers: Array<{
      image: string;
      env: object[];
      securityContext: object;
      resources: object;
      volumeMounts: object[];
      readinessProbe: { exec: { command: string[] } };
    }>;
    volumes: Array<{ persistentVolumeClaim: { claimName: string } }>;
  };
};

test("the name: a version suffix, an earlier one replaced, short enough for the controller's labels", () => {
  assert.is(dumpTargetName('postgres', 15, 'Deployment'), 'postgres-v15');
  assert.is(dumpTargetName('postgres-v14', 15, 'StatefulSet'), 'postgres-v15');
  assert.is(
    dumpTargetName('db-v15', 15, 'Deployment'),
    'db-v15-new',
    'a source named for the new major never gets its own name',
  );
  const long = dumpTargetName('a'.repeat(70), 17, 'StatefulSet');
  assert.is(long.length, 52);
  assert.ok(long.endsWith('-v17'));
  assert.is(dumpTargetName(`${'b'.repeat(58)}-xyz`, 16, 'Deployment').length, 62, 'a trailing dash is cut, not kept');
});

test('the superuser Secret of a source whose password was inline: our labels, the password as data; without it (--dry-run), no data', () => {
  const made = dumpTargetSecret('shop', 'postgres-v15', 'deploy/postgres', 'S3cret');
  assert.is(made.metadata.name, 'postgres-v15-superuser');
  assert.equal(made.metadata.labels, dumpTargetLabels('postgres-v15'));
  assert.equal((made as unknown as { data: Record<string, string> }).data, {
    password: Buffer.from('S3cret').toString('base64'),
  });
  const shown = dumpTargetSecret('shop', 'postgres-v15', 'deploy/postgres');
  assert.not.ok('data' in shown || JSON.stringify(shown).includes('S3cret'));
});

test("the size: --size, else the source PVC's capacity, else the data with head room; nothing known is an error", () => {
  assert.is(targetSize({ ...spec, size: '20Gi' }), '20Gi');
  assert.is(targetSize(spec), '8Gi');
  assert.is(bytesQuantity(1.5 * 2 ** 20 + 1), '2Mi');
  const noVolume = { source: { ...spec.source, pvc: undefined } };
  assert.is(targetSize({ ...noVolume, dataBytes: 2 * 2 ** 30 }), '4Gi');
  assert.throws(() => targetSize(noVolume), /has no data volume and its data size is unknown: give --size/);
});

test("a Bitnami source onto postgres:17: the official layout as UID 999, the same Secret, the source's resources and placement", () => {
  const t = buildDumpTarget(spec);
  assert.is(t.name, 'postgresql-v17');
  assert.is(t.workload.kind, 'StatefulSet');
  assert.is(t.workload.spec?.serviceName, 'postgresql-v17');
  const tpl = t.workload.spec?.template as PodTemplate;
  const c = tpl.spec.containers[0];
  assert.is(c?.image, 'postgres:17');
  assert.equal(c?.env, [
    { name: 'POSTGRES_USER', value: 'postgres' },
    { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'pg', key: 'postgres-password' } } },
    { name: 'POSTGRES_DB', value: 'postgres' },
    { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
    { name: 'POSTGRES_HOST_AUTH_METHOD', value: 'md5' },
  ]);
  assert.equal(c?.volumeMounts, [{ name: 'data', mountPath: '/var/lib/postgresql/data' }]);
  assert.equal(c?.resources, container.resources);
  assert.equal(c?.readinessProbe.exec.command, ['pg_isready', '-U', 'postgres', '-h', '127.0.0.1', '-p', '5432']);
  assert.equal(tpl.spec.imagePullSecrets, [{ name: 'regcred' }]);
  assert.equal(tpl.spec.nodeSelector, { disk: 'ssd' });
  assert.equal(tpl.spec.volumes[0]?.persistentVolumeClaim.claimName, 'data-postgresql-v17');
  assert.equal(t.pvc.spec, {
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'standard',
    resources: { requests: { storage: '8Gi' } },
  });
  assert.is(t.service.spec?.selector['pgupgrade.kubectl.io/instance'], 'postgresql-v17');
  const withLocale = buildDumpTarget({ ...spec, initdbArgs: ['--encoding=UTF8', '--lc-collate=C', '--lc-ctype=C'] })
    .workload.spec?.template as PodTemplate;
  assert.equal(
    withLocale.spec.containers[0]?.env.at(-1),
    { name: 'POSTGRES_INITDB_ARGS', value: '--encoding=UTF8 --lc-collate=C --lc-ctype=C' },
    "the source's default locale",
  );
});

test("Pod Security restricted: non-root as the family's UID with its fsGroup, RuntimeDefault, no escalation, ALL dropped", () => {
  const tpl = buildDumpTarget(spec).workload.spec?.template as PodTemplate;
  assert.equal(tpl.spec.securityContext, {
    runAsNonRoot: true,
    runAsUser: 999,
    runAsGroup: 999,
    fsGroup: 999,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.equal(tpl.spec.containers[0]?.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    runAsUser: 999,
    runAsGroup: 999,
  });
  const bitnami = buildDumpTarget({
    ...spec,
    image: 'bitnamilegacy/postgresql:17.6.0-debian-12-r4',
    storageClass: 'fast',
    size: '50Gi',
  });
  const btpl = bitnami.workload.spec?.template as PodTemplate;
  assert.equal(btpl.spec.securityContext, {
    runAsNonRoot: true,
    runAsUser: 1001,
    runAsGroup: 1001,
    fsGroup: 1001,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.equal(bitnami.pvc.spec?.storageClassName, 'fast');
  assert.equal(bitnami.pvc.spec?.resources, { requests: { storage: '50Gi' } });
});

test("the new pods carry the plugin's labels only: the source's Service does not select them until the cutover", () => {
  const t = buildDumpTarget(spec);
  const labels = (t.workload.spec?.template as PodTemplate).metadata.labels;
  assert.equal(labels, dumpTargetLabels('postgresql-v17'));
  assert.equal(t.workload.metadata.labels, labels);
  assert.is(labels['app.kubernetes.io/managed-by'], OWNED_LABELS['app.kubernetes.io/managed-by']);
  assert.not.ok(selectorMatches(sts.selector, labels));
  assert.ok(selectorMatches(t.cutoverSelector, labels));
  assert.throws(
    () => buildDumpTarget({ ...spec, serviceSelectors: [{ 'pgupgrade.kubectl.io/role': 'dump-target' }] }),
    /which the new instance's pods would match/,
  );
});

test('a Deployment source: a Deployment, Recreate (one RWO volume), one replica; nothing of the password in the objects', () => {
  const deploy: Workload = { ...sts, kind: 'Deployment', metadata: { name: 'postgres' } };
  const t = buildDumpTarget({ ...spec, source: { ...spec.source, workload: deploy } });
  assert.is(t.workload.kind, 'Deployment');
  assert.equal(t.workload.spec?.strategy, { type: 'Recreate' });
  assert.is(t.workload.spec?.replicas, 1);
  assert.not.match(JSON.stringify([t.workload, t.pvc, t.service]), /"value":"[^"]*pass/i);
});

test("the cutover's patch replaces the selector (old keys null: a merge patch), and a numeric targetPort; the way back too", () => {
  const svc = {
    selector: { 'app.kubernetes.io/name': 'postgresql', 'app.kubernetes.io/instance': 'ci' },
    ports: [{ name: 'tcp-postgresql', port: 5432, targetPort: 'tcp-postgresql' }],
  };
  const to = buildDumpTarget(spec).cutoverSelector;
  assert.equal(serviceSelectorPatch(svc, to, 5432), {
    spec: {
      selector: {
        'app.kubernetes.io/name': null,
        'app.kubernetes.io/instance': null,
        'pgupgrade.kubectl.io/instance': 'postgresql-v17',
      },
    },
  });
  const numeric = {
    selector: { app: 'db' },
    ports: [
      { port: 5432, targetPort: 5433 },
      { name: 'metrics', port: 9187, targetPort: 'metrics' },
    ],
  };
  assert.equal(serviceSelectorPatch(numeric, to, 5432).spec.ports, [
    { port: 5432, targetPort: 5432 },
    { name: 'metrics', port: 9187, targetPort: 'metrics' },
  ]);
  const after = { ...numeric, selector: to, ports: [{ port: 5432, targetPort: 5432 }] };
  assert.equal(
    serviceRestorePatch(after, numeric),
    { spec: { selector: { 'pgupgrade.kubectl.io/instance': null, app: 'db' }, ports: numeric.ports } },
    'rollback: the recorded selector and ports',
  );
  const ports = (
    buildDumpTarget({
      ...spec,
      source: { ...spec.source, container: { ...container, ports: [{ name: 'postgresql', containerPort: 5433 }] } },
    }).workload.spec?.template as { spec: { containers: Array<{ ports: object }> } }
  ).spec.containers[0]?.ports;
  assert.equal(
    ports,
    [{ name: 'postgresql', containerPort: 5432 }],
    "the source's port name, on the new instance's port",
  );
});

test('a Service moved by a cutover, whole or half-way, is found moved; one still as recorded is not', () => {
  const before = { selector: { 'k8s-app': 'postgres', tier: 'db' }, ports: [{ port: 5432, targetPort: 5432 }] };
  assert.is(
    serviceMoved(
      { selector: { tier: 'db', 'k8s-app': 'postgres' }, ports: [{ port: 5432, targetPort: 5432 }] },
      before,
    ),
    false,
    'key order does not matter',
  );
  assert.is(
    serviceMoved({ selector: { 'pgupgrade.kubectl.io/instance': 'postgres-v14' }, ports: before.ports }, before),
    true,
  );
  assert.is(serviceMoved({ selector: before.selector, ports: [{ port: 5432, targetPort: 5433 }] }, before), true);
  assert.is(serviceMoved(undefined, before), false, 'a Service that is gone is not patched');
});

test("--size below the source PVC's request is refused with the size to give; at or above it, or with no request known, it is taken", () => {
  const pvc = { metadata: { name: 'data-postgresql-0' }, accessModes: [], requestBytes: 8 * 2 ** 30 };
  assert.match(
    targetSizeProblem('2Gi', pvc, 'ns') ?? '',
    '--size 2Gi is smaller than the 8Gi that the source PVC ns/data-postgresql-0 requests',
  );
  assert.match(targetSizeProblem('8000Mi', pvc, 'ns') ?? '', 'give --size 8Gi or more, or leave --size out');
  for (const ok of ['8Gi', '9G', '10Gi']) assert.is(targetSizeProblem(ok, pvc, 'ns'), undefined, ok);
  assert.is(targetSizeProblem('1Gi', { ...pvc, requestBytes: undefined }, 'ns'), undefined);
  assert.is(targetSizeProblem('1Gi', undefined, 'ns'), undefined, 'no source volume: the data size decides elsewhere');
  assert.is(targetSizeProblem(undefined, pvc, 'ns'), undefined);
});

test.run();
