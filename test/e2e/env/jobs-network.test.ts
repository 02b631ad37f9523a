import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { applyObjects, createNamespace, podName, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { waitFor } from '../../support/process.ts';

const test = suite('Jobs, logs -f, pod networking and image errors');
const ns = uniqueNamespace('jobs');

const job = (name: string, script: string) => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: ns },
  spec: {
    backoffLimit: 0,
    template: {
      spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', script] }] },
    },
  },
});

test('a Job whose command exits 3 ends Failed with exit code 3; one that succeeds ends Complete', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns);
  await applyObjects(cp, [job('fails', 'echo failing; exit 3'), job('works', 'echo working; exit 0')]);
  await cp.kubectl(['-n', ns, 'wait', '--for=condition=Failed', 'job/fails', '--timeout=60s']);
  await cp.kubectl(['-n', ns, 'wait', '--for=condition=Complete', 'job/works', '--timeout=60s']);
  const pod = await podName(cp, ns, 'job-name=fails');
  const code = await cp.kubectl([
    '-n',
    ns,
    'get',
    'pod',
    pod,
    '-o',
    'jsonpath={.status.containerStatuses[0].state.terminated.exitCode}',
  ]);
  assert.is(code.stdout, '3');
  assert.is((await cp.kubectl(['-n', ns, 'logs', 'job/fails'])).stdout.trim(), 'failing');
});

test('kubectl logs -f job/<name> streams output while the Job runs', async () => {
  const { cp } = await sharedEnv();
  await applyObjects(cp, [job('slow', 'for i in 1 2 3 4 5; do echo "line $i"; sleep 1; done')]);
  await podName(cp, ns, 'job-name=slow');
  await waitFor(
    'the slow Job pod to run',
    async () =>
      (await cp.kubectl(['-n', ns, 'get', 'pods', '-l', 'job-name=slow', '-o', 'jsonpath={.items[0].status.phase}']))
        .stdout === 'Running',
    30_000,
  );
  const child = spawn(cp.bins.kubectl, ['--kubeconfig', cp.kubeconfig, '-n', ns, 'logs', '-f', 'job/slow']);
  const seen: Array<{ line: string; at: number }> = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() as string;
    for (const line of lines) seen.push({ line, at: Date.now() });
  });
  await new Promise((r) => child.on('close', r));
  assert.equal(
    seen.map((s) => s.line),
    ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'],
  );
  const spread = (seen.at(-1)?.at ?? 0) - (seen[0]?.at ?? 0);
  assert.ok(spread >= 2000, `lines arrived as they were written (over ${spread} ms), not all at the end`);
});

test('two pods both serve on 5432 and reach each other by Service name; an unknown image is an image pull error', async () => {
  const { cp } = await sharedEnv();
  const server = (name: string) => [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: { selector: { app: name }, ports: [{ port: 5432 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: ns, labels: { app: name } },
      spec: {
        containers: [
          {
            name: 'db',
            image: 'postgres:15',
            env: [{ name: 'POSTGRES_PASSWORD', value: 'x-not-secret' }],
            readinessProbe: { exec: { command: ['pg_isready', '-h', '127.0.0.1'] }, periodSeconds: 1 },
          },
        ],
      },
    },
  ];
  await applyObjects(cp, [
    ...server('alpha'),
    ...server('beta'),
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nope', namespace: ns },
      spec: { containers: [{ name: 'x', image: 'mysql:8' }] },
    },
  ]);
  await waitReady(cp, ns, 'alpha');
  await waitReady(cp, ns, 'beta');
  for (const [from, to] of [
    ['alpha', 'beta'],
    ['beta', `alpha.${ns}.svc.cluster.local`],
  ]) {
    const r = await cp.kubectl([
      '-n',
      ns,
      'exec',
      from as string,
      '--',
      'sh',
      '-c',
      `PGPASSWORD=$POSTGRES_PASSWORD psql -h ${to} -U postgres -tAc 'select inet_server_addr()'`,
    ]);
    const ip = (
      await cp.kubectl([
        '-n',
        ns,
        'get',
        'pod',
        (to as string).split('.')[0] as string,
        '-o',
        'jsonpath={.status.podIP}',
      ])
    ).stdout;
    assert.is(r.stdout.trim(), ip, `${from} reached ${to} at its pod IP`);
  }
  // As a kubelet's: ErrImagePull at each attempt, ImagePullBackOff in between.
  await waitFor(
    'the image pull error',
    async () =>
      /^(ErrImagePull|ImagePullBackOff)$/.test(
        (
          await cp.kubectl([
            '-n',
            ns,
            'get',
            'pod',
            'nope',
            '-o',
            'jsonpath={.status.containerStatuses[0].state.waiting.reason}',
          ])
        ).stdout,
      ),
    30_000,
  );
});

test('a Service selector change is seen by new connections within seconds', async () => {
  const { cp } = await sharedEnv();
  await applyObjects(cp, [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'moving', namespace: ns },
      spec: { selector: { app: 'alpha' }, ports: [{ port: 5432 }] },
    },
  ]);
  const target = async () =>
    (
      await cp.kubectl(
        [
          '-n',
          ns,
          'exec',
          'beta',
          '--',
          'sh',
          '-c',
          `PGPASSWORD=$POSTGRES_PASSWORD psql -h moving -U postgres -tAc 'select inet_server_addr()'`,
        ],
        { allowFail: true },
      )
    ).stdout.trim();
  const ipOf = async (p: string) =>
    (await cp.kubectl(['-n', ns, 'get', 'pod', p, '-o', 'jsonpath={.status.podIP}'])).stdout;
  await waitFor('moving → alpha', async () => (await target()) === (await ipOf('alpha')), 10_000);
  await cp.kubectl(['-n', ns, 'patch', 'service', 'moving', '-p', '{"spec":{"selector":{"app":"beta"}}}']);
  const started = Date.now();
  await waitFor('moving → beta', async () => (await target()) === (await ipOf('beta')), 10_000);
  console.log(`\n  service cutover seen after ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

test('exec exit codes and stdin; restarts are counted; runAsNonRoot is enforced as the kubelet does', async () => {
  const { cp } = await sharedEnv();
  const code = await cp.kubectl(['-n', ns, 'exec', 'alpha', '--', 'sh', '-c', 'exit 3'], { allowFail: true });
  assert.is(code.code, 3, "kubectl exec returns the command's exit code");
  const echo = await cp.kubectl(['-n', ns, 'exec', '-i', 'alpha', '--', 'cat'], { input: 'through stdin\n' });
  assert.is(echo.stdout, 'through stdin\n');
  await applyObjects(cp, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crashy', namespace: ns },
      spec: { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo crashing; exit 1'] }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'rootish', namespace: ns },
      spec: {
        securityContext: { runAsNonRoot: true },
        containers: [{ name: 'c', image: 'busybox', command: ['sleep', '60'] }],
      },
    },
  ]);
  await waitFor(
    'crashy to restart',
    async () =>
      Number(
        (
          await cp.kubectl([
            '-n',
            ns,
            'get',
            'pod',
            'crashy',
            '-o',
            'jsonpath={.status.containerStatuses[0].restartCount}',
          ])
        ).stdout,
      ) >= 2,
    30_000,
  );
  const last = await cp.kubectl([
    '-n',
    ns,
    'get',
    'pod',
    'crashy',
    '-o',
    'jsonpath={.status.containerStatuses[0].lastState.terminated.exitCode}',
  ]);
  assert.is(last.stdout, '1');
  await waitFor(
    'rootish to be refused',
    async () =>
      (
        await cp.kubectl([
          '-n',
          ns,
          'get',
          'pod',
          'rootish',
          '-o',
          'jsonpath={.status.containerStatuses[0].state.waiting.reason}',
        ])
      ).stdout === 'CreateContainerConfigError',
    30_000,
  );
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
