import * as fs from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { ResolvedContext } from './kubeconfig.ts';
import { parseQuantity } from './quantity.ts';
import { getJson, PARTIAL_METADATA } from './raw-http.ts';
import { labelSelectorString, type LabelRequirement } from './selector.ts';
import { retryRead } from './retry.ts';
import type { Cluster, ExecResult, KObject, ObjectRef, Pod, Pvc, Workload } from './cluster.ts';
import { execSilenceMs } from './silence.ts';

/** The only implementation of {@link Cluster}: client-node, configured from the context kubectl would use. */
export function connectCluster(ctx: ResolvedContext): Cluster {
  const kc = kubeConfigFor(ctx);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const storage = kc.makeApiClient(k8s.StorageV1Api);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const version = kc.makeApiClient(k8s.VersionApi);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const header = (r: ObjectRef) => ({
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: { name: r.name, ...(r.namespace ? { namespace: r.namespace } : {}) },
  });
  return {
    contextName: ctx.contextName,
    namespace: ctx.namespace,
    serverVersion: async () => (await version.getCode()).gitVersion,
    namespaceLabels: async (name) =>
      orUndefined(async () => (await core.readNamespace({ name })).metadata?.labels ?? {}),
    listWorkloads: async (namespace) =>
      retryRead(async () => {
        const [sts, deploys] = await Promise.all([
          apps.listNamespacedStatefulSet({ namespace }),
          apps.listNamespacedDeployment({ namespace }),
        ]);
        return [
          ...sts.items.map((o) => toWorkload('StatefulSet', o)),
          ...deploys.items.map((o) => toWorkload('Deployment', o)),
        ];
      }),
    getWorkload: async (namespace, kind, name) =>
      retryRead(() =>
        orUndefined(async () =>
          kind === 'StatefulSet'
            ? toWorkload(kind, await apps.readNamespacedStatefulSet({ namespace, name }))
            : toWorkload(kind, await apps.readNamespacedDeployment({ namespace, name })),
        ),
      ),
    listPods: async (namespace, selector, expressions) => {
      const labelSelector =
        selector || expressions?.length ? labelSelectorString(selector, expressions) || undefined : undefined;
      return (await retryRead(() => core.listNamespacedPod({ namespace, labelSelector }))).items.map(toPod);
    },
    getPvc: async (namespace, name) =>
      retryRead(() =>
        orUndefined(async () => toPvc(await core.readNamespacedPersistentVolumeClaim({ namespace, name }))),
      ),
    storageClassProvisioner: async (name) =>
      orUndefined(async () => (await storage.readStorageClass({ name })).provisioner),
    snapshotClassDrivers: async () =>
      orUndefined(async () => {
        const list = (await custom.listClusterCustomObject({
          group: 'snapshot.storage.k8s.io',
          version: 'v1',
          plural: 'volumesnapshotclasses',
        })) as { items: Array<{ driver: string }> };
        return list.items.map((c) => c.driver);
      }),
    snapshotClasses: async () =>
      orUndefined(async () => {
        const list = (await custom.listClusterCustomObject({
          group: 'snapshot.storage.k8s.io',
          version: 'v1',
          plural: 'volumesnapshotclasses',
        })) as {
          items: Array<{
            metadata: { name: string; annotations?: Record<string, string> };
            driver: string;
            deletionPolicy: string;
          }>;
        };
        return list.items.map((c) => ({
          name: c.metadata.name,
          driver: c.driver,
          deletionPolicy: c.deletionPolicy,
          isDefault: c.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true',
        }));
      }),
    createObject: async (o) => (await objects.create(o as k8s.KubernetesObject)) as unknown as KObject,
    readObject: async (ref) =>
      retryRead(() => orUndefined(async () => (await objects.read(header(ref))) as unknown as KObject)),
    listObjects: async (apiVersion, kind, namespace, labelSelector) =>
      retryRead(
        async () =>
          (
            await objects.list(
              apiVersion,
              kind,
              namespace || undefined,
              undefined,
              undefined,
              undefined,
              undefined,
              labelSelector,
            )
          ).items as unknown as KObject[],
      ),
    deleteObject: async (ref, preconditions) => {
      await orUndefined(() =>
        objects.delete(
          header(ref),
          undefined,
          undefined,
          undefined,
          undefined,
          'Background',
          preconditions ? { preconditions } : undefined,
        ),
      );
    },
    patchObject: async (ref, patch, strategy) =>
      (await objects.patch(
        {
          ...header(ref),
          ...patch,
          metadata: { ...header(ref).metadata, ...((patch as { metadata?: object }).metadata ?? {}) },
        } as k8s.KubernetesObject,
        undefined,
        undefined,
        'kubectl-pgupgrade',
        undefined,
        strategy === 'merge' ? k8s.PatchStrategy.MergePatch : k8s.PatchStrategy.StrategicMergePatch,
      )) as unknown as KObject,
    podLog: async (namespace, name, container, tailLines, previous) =>
      (await core.readNamespacedPodLog({ namespace, name, container, tailLines, previous })) ?? '',
    followLog: (ns, pod, container, onText) => {
      const sink = new PassThrough();
      sink.on('data', (d: Buffer) => onText(d.toString('utf8')));
      // client-node pipes the response into the sink; aborting makes that source emit an AbortError, which must
      // be handled here or it ends the process.
      sink.on('pipe', (src: NodeJS.ReadableStream) => src.on('error', () => sink.end()));
      sink.on('error', () => undefined);
      let controller: AbortController | undefined;
      const done = new Promise<void>((resolve) => {
        new k8s.Log(kc)
          .log(ns, pod, container, sink, () => resolve(), { follow: true })
          .then(
            (c) => (controller = c),
            () => resolve(),
          );
      });
      return { done, abort: () => controller?.abort() };
    },
    secretMetadata: async (namespace, name) =>
      retryRead(() =>
        orUndefined(
          async () =>
            (await getJson(
              ctx,
              `api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
              30_000,
              PARTIAL_METADATA,
            )) as KObject,
        ),
      ),
    readSecretKey: async (namespace, name, key) =>
      orUndefined(async () => {
        const data = (await core.readNamespacedSecret({ namespace, name })).data?.[key];
        if (data === undefined) throw Object.assign(new Error('no key'), { code: 404 });
        return Buffer.from(data, 'base64').toString('utf8');
      }),
    canI: (questions) =>
      Promise.all(
        questions.map(async (q) => {
          const review = await authz.createSelfSubjectAccessReview({
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SelfSubjectAccessReview',
              spec: {
                resourceAttributes: {
                  verb: q.verb,
                  group: q.group,
                  resource: q.resource,
                  subresource: q.subresource,
                  namespace: q.namespace,
                },
              },
            },
          });
          return review.status?.allowed === true;
        }),
      ),
    exec: (ns, pod, container, command, stdin, onStdout) => execIn(kc, ns, pod, container, command, stdin, onStdout),
    createPod: async (namespace, manifest) => {
      await core.createNamespacedPod({ namespace, body: manifest as k8s.V1Pod });
    },
    deletePod: async (namespace, name, gracePeriodSeconds) => {
      await orUndefined(() => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds }));
    },
    podState: async (namespace, name) =>
      retryRead(() =>
        orUndefined(async () => {
          const p = await core.readNamespacedPod({ namespace, name });
          const cs = p.status?.containerStatuses?.[0];
          const reason = cs?.state?.waiting?.reason ?? cs?.state?.terminated?.reason;
          return {
            phase: p.status?.phase ?? 'Unknown',
            ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
            running: !!cs?.state?.running,
            reason,
          };
        }),
      ),
  };
}

/** Builds client-node's config from the resolved context; a token file is read here, as kubectl reads it. */
function kubeConfigFor(ctx: ResolvedContext): k8s.KubeConfig {
  const user: Record<string, unknown> = { ...ctx.user };
  if (typeof user.tokenFile === 'string' && user.token === undefined)
    user.token = fs.readFileSync(user.tokenFile, 'utf8').trim();
  delete user.tokenFile;
  const kc = new k8s.KubeConfig();
  kc.loadFromString(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': ctx.contextName,
      clusters: [{ name: ctx.clusterName, cluster: ctx.cluster }],
      users: [{ name: ctx.userName, user }],
      contexts: [
        { name: ctx.contextName, context: { cluster: ctx.clusterName, user: ctx.userName, namespace: ctx.namespace } },
      ],
    }),
  );
  return kc;
}

/** A 404 becomes undefined; every other error is the caller's. */
async function orUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

function toWorkload(kind: Workload['kind'], o: k8s.V1StatefulSet | k8s.V1Deployment): Workload {
  const spec = o.spec;
  return {
    kind,
    metadata: o.metadata as Workload['metadata'],
    replicas: spec?.replicas ?? 1,
    selector: spec?.selector.matchLabels ?? {},
    ...(spec?.selector.matchExpressions?.length
      ? { matchExpressions: spec.selector.matchExpressions as LabelRequirement[] }
      : {}),
    template: spec?.template as unknown as Workload['template'],
    volumeClaimTemplates: ((spec as k8s.V1StatefulSetSpec | undefined)?.volumeClaimTemplates ?? []).map(
      (t) => t.metadata?.name ?? '',
    ),
    ...(kind === 'Deployment'
      ? { strategy: (spec as k8s.V1DeploymentSpec | undefined)?.strategy as Workload['strategy'] }
      : {}),
  };
}

function toPod(o: k8s.V1Pod): Pod {
  return {
    metadata: o.metadata as Pod['metadata'],
    spec: o.spec as unknown as Pod['spec'],
    phase: o.status?.phase ?? 'Unknown',
    ready: (o.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    podIP: o.status?.podIP,
    restarts: Object.fromEntries((o.status?.containerStatuses ?? []).map((c) => [c.name, c.restartCount])),
  };
}

function toPvc(o: k8s.V1PersistentVolumeClaim): Pvc {
  const request = o.spec?.resources?.requests?.storage;
  const capacity = o.status?.capacity?.storage ?? request;
  return {
    metadata: o.metadata as Pvc['metadata'],
    storageClassName: o.spec?.storageClassName,
    accessModes: o.spec?.accessModes ?? [],
    capacityBytes: capacity === undefined ? undefined : parseQuantity(String(capacity)),
    requestBytes: request === undefined ? undefined : parseQuantity(String(request)),
    volumeName: o.spec?.volumeName,
  };
}

/**
 * An exec may run for as long as it keeps talking: long work (a fingerprint of a large database, vacuumdb) has no
 * total limit, but one that says nothing for this long is taken as hung. Scripts whose steps can be silent for
 * longer print a heartbeat line (src/postgres/heartbeat.ts), which is dropped from their stderr here.
 */
const silenceMs = execSilenceMs;
const HEARTBEAT_LINE = /^pgupgrade: still working\n/gm;
const FIRST_LINE_MS = 30_000;

/** Exec over WebSocket; stdin is sent on the stdin channel and closed, so a password never reaches the URL. */
async function execIn(
  kc: k8s.KubeConfig,
  ns: string,
  pod: string,
  container: string,
  command: string[],
  stdin?: string,
  onStdout?: (text: string) => void,
): Promise<ExecResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  let socket: { close(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let fail: (e: Error) => void = () => undefined;
  // Until the stream is open the exec is being set up (apiserver, kubelet, the container's runtime), which on a
  // loaded node takes seconds whatever the limit: that wait gets at least FIRST_LINE_MS.
  const quiet = (ms = silenceMs()) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      socket?.close();
      fail(new Error(`exec in ${ns}/${pod} (container ${container}) said nothing for ${ms / 1000} s; taken as hung`));
    }, ms);
  };
  out.on('data', (d: Buffer) => {
    quiet();
    chunks.out.push(d);
    onStdout?.(d.toString('utf8'));
  });
  err.on('data', (d: Buffer) => {
    quiet();
    chunks.err.push(d);
  });
  const input = stdin === undefined ? null : Readable.from([Buffer.from(stdin)]);
  const status = await new Promise<k8s.V1Status>((resolve, reject) => {
    fail = reject;
    quiet(Math.max(silenceMs(), FIRST_LINE_MS));
    new k8s.Exec(kc).exec(ns, pod, container, command, out, err, input, false, resolve).then(
      (ws) => {
        socket = ws;
        // Connected: the process runs now, and from here only its own silence counts.
        if (!chunks.out.length && !chunks.err.length) quiet();
        ws.on('close', () => setTimeout(() => reject(new Error(`exec in ${ns}/${pod} closed without a status`)), 200));
      },
      (e: { message?: string }) =>
        reject(new Error(`exec into ${ns}/${pod} (container ${container}) was refused: ${e.message ?? String(e)}`)),
    );
  }).finally(() => clearTimeout(timer));
  const stderr = Buffer.concat(chunks.err).toString('utf8').replace(HEARTBEAT_LINE, '');
  return { exitCode: exitCodeOf(status), stdout: Buffer.concat(chunks.out).toString('utf8'), stderr };
}

/** The apiserver's exec status: Success, or Failure with an ExitCode cause. */
function exitCodeOf(status: k8s.V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  if (cause?.message) return Number(cause.message);
  throw new Error(`exec failed: ${status.message ?? status.reason ?? 'unknown error'}`);
}
