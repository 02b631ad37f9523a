import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiChart16, EXPORTER_IMAGE } from '../../support/fixtures/bitnami-chart16.ts';
import { applyObjects, createNamespace, podSql, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { waitFor } from '../../support/process.ts';
import { IMAGE_MAP_ENV } from '../../support/sandbox/image-map.ts';

/** It points the node agent's image map at a file of its own, which every other file's pods would see. */
export const runsAlone = 'sets PGUPGRADE_TEST_IMAGE_MAP for the whole process';
const test = suite('vendor images and the rendered Bitnami chart 16 on the node agent');
const ns = uniqueNamespace('chart16');
const pod = 'chart-postgresql-0';
const restricted = { 'pod-security.kubernetes.io/enforce': 'restricted' };
const mapBefore = process.env[IMAGE_MAP_ENV];

interface Status {
  phase: string;
  conditions: Array<{ type: string; status: string }>;
  containerStatuses: Array<{
    name: string;
    ready: boolean;
    restartCount: number;
    state: Record<string, { reason?: string }>;
  }>;
}

async function podStatus(namespace: string, name: string): Promise<Status> {
  return (await (await sharedEnv()).cp.rest.get<{ status: Status }>(`/api/v1/namespaces/${namespace}/pods/${name}`))
    .status;
}
const container = (s: Status, name: string) => s.containerStatuses.find((c) => c.name === name);
const podReady = (s: Status) => s.conditions.find((c) => c.type === 'Ready')?.status;

test('chart 16 with an unknown metrics image: the database starts and is Ready on readOnlyRootFilesystem and emptyDir subPaths; the sidecar shows the pull error; the pod is not Ready', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns, restricted);
  await applyObjects(
    cp,
    bitnamiChart16({
      namespace: ns,
      release: 'chart',
      major: 16,
      password: 'chart16-e2e-pass',
      appReplicas: 0,
      metrics: true,
    }),
  );
  await waitFor(
    'the database container Ready',
    async () => container(await podStatus(ns, pod), 'postgresql')?.ready === true,
    120_000,
  );
  const s = await podStatus(ns, pod);
  assert.is(s.phase, 'Running');
  assert.is(podReady(s), 'False', 'a container that cannot run keeps the pod from Ready');
  assert.match(
    Object.values(container(s, 'metrics')?.state ?? {})[0]?.reason ?? '',
    /^(ErrImagePull|ImagePullBackOff)$/,
  );
  const v = await podSql(cp, ns, pod, 'postgres')('postgres', "select current_setting('server_version_num')");
  assert.is(Math.floor(Number(v.trim()) / 10000), 16);
  // What the kubelet gives an emptyDir subPath under fsGroup: the pod's group, group-writable, setgid.
  const st = await cp.kubectl([
    '-n',
    ns,
    'exec',
    pod,
    '-c',
    'postgresql',
    '--',
    'stat',
    '-c',
    '%g %a',
    '/opt/bitnami/postgresql/tmp',
    '/opt/bitnami/postgresql/conf',
  ]);
  assert.equal(st.stdout.trim().split('\n'), ['1001 2777', '1001 2777']);
  const files = await cp.kubectl([
    '-n',
    ns,
    'exec',
    pod,
    '-c',
    'postgresql',
    '--',
    'ls',
    '/opt/bitnami/postgresql/tmp',
    '/opt/bitnami/postgresql/conf',
  ]);
  assert.match(files.stdout, 'nss_passwd');
  assert.match(files.stdout, 'postgresql.conf');
  const logs = await cp.kubectl(['-n', ns, 'logs', pod, '-c', 'postgresql']);
  assert.not.match(logs.stdout, 'Permission denied');
  assert.is(container(await podStatus(ns, pod), 'postgresql')?.restartCount, 0, 'no crash loop');
});

test('PGUPGRADE_TEST_IMAGE_MAP: one line makes the exporter an idle sidecar (the pod turns Ready) and a vendor repository a Bitnami layout', async () => {
  const { cp } = await sharedEnv();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-map-')), 'images.yaml');
  fs.writeFileSync(
    file,
    '- { repository: bitnami/postgres-exporter, layout: idle }\n- { repository: quay.io/devtron/postgres, layout: bitnami }\n',
  );
  process.env[IMAGE_MAP_ENV] = file;
  await cp.kubectl(['-n', ns, 'delete', 'pod', pod, '--wait=true']);
  await waitFor(
    'the new pod',
    async () => (await cp.kubectl(['-n', ns, 'get', 'pod', pod], { allowFail: true })).code === 0,
    60_000,
  );
  await waitReady(cp, ns, pod);
  assert.ok(container(await podStatus(ns, pod), 'metrics')?.ready, `${EXPORTER_IMAGE} runs as an idle stand-in`);
  const vendor = 'quay.io/devtron/postgres:14.9.0-debian-11-r31';
  await applyObjects(
    cp,
    bitnamiChart16({
      namespace: ns,
      release: 'devtron',
      major: 14,
      password: 'devtron-e2e-pass',
      appReplicas: 0,
      image: vendor,
    }),
  );
  await waitFor(
    'the vendor pod',
    async () => (await cp.kubectl(['-n', ns, 'get', 'pod', 'devtron-postgresql-0'], { allowFail: true })).code === 0,
    60_000,
  );
  await waitReady(cp, ns, 'devtron-postgresql-0');
  const sql = podSql(cp, ns, 'devtron-postgresql-0', 'postgres');
  assert.is((await sql('postgres', 'show data_directory')).trim(), '/bitnami/postgresql/data');
  assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), 14);
  const id = await cp.kubectl(['-n', ns, 'exec', 'devtron-postgresql-0', '--', 'id', '-u']);
  assert.is(id.stdout.trim(), '1001');
  // Still no entry: the pull fails as before.
  await applyObjects(cp, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'unmapped', namespace: ns },
      spec: {
        securityContext: { runAsNonRoot: true, runAsUser: 1001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'x',
            image: 'quay.io/devtron/postgres-other:14',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
  ]);
  await waitFor(
    'the pull error',
    async () =>
      /ErrImagePull|ImagePullBackOff/.test(
        Object.values(container(await podStatus(ns, 'unmapped'), 'x')?.state ?? {})[0]?.reason ?? '',
      ),
    30_000,
  );
});

test('postgres:15-alpine: the alpine layout, postgres as UID 70, its binaries in /usr/local/bin', async () => {
  const { cp } = await sharedEnv();
  const plain = uniqueNamespace('alpine'); // the image's entrypoint starts as root: not in the restricted namespace
  await createNamespace(cp, plain);
  await applyObjects(cp, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'alpine-db', namespace: plain },
      spec: {
        containers: [
          {
            name: 'postgres',
            image: 'postgres:15-alpine',
            env: [{ name: 'POSTGRES_PASSWORD', value: 'alpine-e2e-pass' }],
            readinessProbe: { exec: { command: ['pg_isready', '-h', '127.0.0.1'] }, periodSeconds: 1 },
          },
        ],
      },
    },
  ]);
  await waitReady(cp, plain, 'alpine-db');
  const r = await cp.kubectl([
    '-n',
    plain,
    'exec',
    'alpine-db',
    '--',
    'sh',
    '-c',
    'command -v postgres; stat -c %u /var/lib/postgresql/data; id -u postgres; psql -U postgres -tAc "show server_version_num"',
  ]);
  const [bin, owner, uid, version] = r.stdout.trim().split('\n');
  assert.equal(
    [bin, owner, uid],
    ['/usr/local/bin/postgres', '70', '70'],
    "the binary's path, the data's owner, the image's postgres",
  );
  assert.is(Math.floor(Number(version) / 10000), 15);
});

test.after(async () => {
  if (mapBefore === undefined) delete process.env[IMAGE_MAP_ENV];
  else process.env[IMAGE_MAP_ENV] = mapBefore;
  await releaseNamespaces((await sharedEnv()).cp);
});

test.run();
