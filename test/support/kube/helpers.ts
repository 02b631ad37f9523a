import { defaultContainer, execInPod } from './exec.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';
import type { SqlRunner } from '../pg/fingerprint.ts';
import { currentFile } from '../lanes.ts';
import { waitFor } from '../process.ts';

/**
 * The namespaces made and not yet released, each with the test file that made it: files run side by side, and each
 * releases only its own when it ends.
 */
const made = new Map<string, string | undefined>();

/**
 * Deletes the namespaces that this file made (without waiting for their pods to go): their databases and writing
 * applications would otherwise go on loading the one machine for every later file of the run.
 */
export async function releaseNamespaces(cp: ControlPlane, only?: string[]): Promise<void> {
  const mine = currentFile();
  const names = only ?? [...made].filter(([, file]) => file === mine).map(([n]) => n);
  for (const n of names) made.delete(n);
  if (names.length)
    await cp.kubectl(['delete', 'namespace', ...names, '--wait=false', '--ignore-not-found'], { allowFail: true });
}

/** Creates a namespace (with labels, e.g. Pod Security) and waits for its default ServiceAccount. */
export async function createNamespace(
  cp: ControlPlane,
  ns: string,
  labels: Record<string, string> = {},
): Promise<void> {
  made.set(ns, currentFile());
  await cp.rest.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } });
  await waitFor(
    `the default ServiceAccount of ${ns}`,
    async () => !!(await cp.rest.getOrNull(`/api/v1/namespaces/${ns}/serviceaccounts/default`)),
    30_000,
  );
}

/** kubectl apply of a list of objects. */
export async function applyObjects(cp: ControlPlane, objects: Array<Record<string, unknown>>): Promise<void> {
  await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
}

/**
 * The names of the pods a label selector (and a field selector, if given) picks, by name, through the REST
 * client: a kubectl process per poll costs about 80 ms of CPU.
 */
export async function podsMatching(cp: ControlPlane, ns: string, selector: string, fields?: string): Promise<string[]> {
  const q = `labelSelector=${encodeURIComponent(selector)}${fields ? `&fieldSelector=${encodeURIComponent(fields)}` : ''}`;
  const list = await cp.rest.get<{ items: Array<{ metadata: { name: string } }> }>(
    `/api/v1/namespaces/${ns}/pods?${q}`,
  );
  return list.items.map((p) => p.metadata.name).sort();
}

/** The name of the one pod that a label selector picks, once it exists. */
export async function podName(cp: ControlPlane, ns: string, selector: string): Promise<string> {
  let name = '';
  await waitFor(
    `a pod ${selector} in ${ns}`,
    async () => {
      name = (await podsMatching(cp, ns, selector))[0] ?? '';
      return name !== '';
    },
    60_000,
  );
  return name;
}

/** Waits until a pod is Ready, with kubectl wait. */
export async function waitReady(cp: ControlPlane, ns: string, pod: string, seconds = 120): Promise<void> {
  const r = await cp.kubectl(['-n', ns, 'wait', '--for=condition=Ready', `pod/${pod}`, `--timeout=${seconds}s`], {
    allowFail: true,
  });
  if (r.code === 0) return;
  const state = await cp.kubectl(['-n', ns, 'get', 'pod', pod, '-o', 'jsonpath={.status.containerStatuses}'], {
    allowFail: true,
  });
  const logs = await cp.kubectl(['-n', ns, 'logs', pod, '--all-containers', '--tail=20'], { allowFail: true });
  throw new Error(
    `pod ${ns}/${pod} not Ready after ${seconds} s: ${r.stderr}\nstatus: ${state.stdout}\nlogs:\n${logs.stdout}${logs.stderr}`,
  );
}

/** SQL through an exec of psql in the pod (what `kubectl exec -i … psql` does) on its local socket, as a user would run it; SQL on stdin. */
export function podSql(cp: ControlPlane, ns: string, pod: string, user: string): SqlRunner {
  // The container is looked up once per runner, not with every statement.
  let container: Promise<string> | undefined;
  return async (db, sql) => {
    container ??= defaultContainer(cp.rest, ns, pod);
    const c = await container.catch((e: Error) => {
      container = undefined;
      throw e;
    });
    // The name as PGDATABASE, never -d: psql reads a -d value holding `=` as a connection string.
    // The exec in this process, not by a kubectl process (kube/exec.ts): the suite runs thousands of these.
    const r = await execInPod(
      cp.rest,
      ns,
      pod,
      [
        'env',
        `PGDATABASE=${db}`,
        'psql',
        '-X',
        '-q',
        '-A',
        '-t',
        '-F',
        '\t',
        '-v',
        'ON_ERROR_STOP=1',
        '-U',
        user,
        '-f',
        '-',
      ],
      sql,
      c,
    );
    if (r.code !== 0) throw new Error(`psql in ${ns}/${pod} on ${db} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
}

/** `Kind/name=resourceVersion` of the objects an upgrade touches in a namespace: equal strings mean nothing changed. */
export async function resourceVersions(cp: ControlPlane, ns: string): Promise<string> {
  const r = await cp.kubectl([
    '-n',
    ns,
    'get',
    'statefulsets,deployments,pods,pvc,configmaps,jobs,volumesnapshots',
    '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}',
  ]);
  return r.stdout;
}

/** The upgrade's record in a namespace as the plugin wrote it (its state ConfigMap, found by label), or undefined. */
export async function recordedState(
  cp: ControlPlane,
  ns: string,
): Promise<{ phase: string; history: Array<{ phase: string }> } | undefined> {
  const r = await cp.kubectl(
    [
      '-n',
      ns,
      'get',
      'configmap',
      '-l',
      'pgupgrade.kubectl.io/role=upgrade-state',
      '-o',
      'jsonpath={.items[0].data.state\\.json}',
    ],
    { allowFail: true },
  );
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { phase: string; history: Array<{ phase: string }> }) : undefined;
}
