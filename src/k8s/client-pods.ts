import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { Cluster, Pod } from './cluster.ts';
import { execIn } from './exec.ts';
import { orUndefined } from './not-found.ts';
import { retryRead } from './retry.ts';
import { labelSelectorString } from './selector.ts';

/** Pods: listing, logs, exec, and the plugin's own pods' lifecycle. */
export function podMethods(
  kc: k8s.KubeConfig,
  core: k8s.CoreV1Api,
): Pick<Cluster, 'listPods' | 'podLog' | 'followLog' | 'exec' | 'createPod' | 'deletePod' | 'podState'> {
  return {
    listPods: async (namespace, selector, expressions) => {
      const labelSelector =
        selector || expressions?.length ? labelSelectorString(selector, expressions) || undefined : undefined;
      return (await retryRead(() => core.listNamespacedPod({ namespace, labelSelector }))).items.map(toPod);
    },
    podLog: async (namespace, name, container, tailLines, previous) =>
      (await core.readNamespacedPodLog({ namespace, name, container, tailLines, previous })) ?? '',
    followLog: (ns, pod, container, onText) => followLog(kc, ns, pod, container, onText),
    exec: (ns, pod, container, command, stdin, onStdout) => execIn(kc, ns, pod, container, command, stdin, onStdout),
    createPod: async (namespace, manifest) => {
      await core.createNamespacedPod({ namespace, body: manifest as k8s.V1Pod });
    },
    deletePod: async (namespace, name, gracePeriodSeconds) => {
      await orUndefined(() => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds }));
    },
    podState: async (namespace, name) => retryRead(() => orUndefined(() => podState(core, namespace, name))),
  };
}

function followLog(kc: k8s.KubeConfig, ns: string, pod: string, container: string, onText: (text: string) => void) {
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
}

async function podState(core: k8s.CoreV1Api, namespace: string, name: string) {
  const p = await core.readNamespacedPod({ namespace, name });
  const cs = p.status?.containerStatuses?.[0];
  const reason = cs?.state?.waiting?.reason ?? cs?.state?.terminated?.reason;
  return {
    phase: p.status?.phase ?? 'Unknown',
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    running: !!cs?.state?.running,
    reason,
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
