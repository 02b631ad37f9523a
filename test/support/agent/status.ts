/** A container's state as the agent tracks it; pod status is derived from these, never stored twice. */
export interface ContainerView {
  name: string;
  image: string;
  init: boolean;
  state:
    | { kind: 'waiting'; reason: string; message?: string }
    | { kind: 'running'; startedAt: string }
    | { kind: 'terminated'; exitCode: number; reason: string; startedAt?: string; finishedAt: string; signal?: number };
  lastTerminated?: { exitCode: number; reason: string; startedAt?: string; finishedAt: string };
  ready: boolean;
  started: boolean;
  restartCount: number;
}

/** What the pod as a whole has reached. */
export interface PodView {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  podIP?: string;
  startTime: string;
  initialized: boolean;
  deleting: boolean;
  reason?: string;
  message?: string;
}

function stateJson(s: ContainerView['state']): Record<string, unknown> {
  if (s.kind === 'waiting') return { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } };
  if (s.kind === 'running') return { running: { startedAt: s.startedAt } };
  return {
    terminated: {
      exitCode: s.exitCode,
      reason: s.reason,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      ...(s.signal ? { signal: s.signal } : {}),
    },
  };
}

function containerStatus(c: ContainerView): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image,
    imageID: `pgupgrade-agent://${c.image}`,
    containerID: `bwrap://${c.name}-${c.restartCount}`,
    state: stateJson(c.state),
    lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
  };
}

function condition(type: string, ok: boolean, now: string, reason?: string): Record<string, unknown> {
  return {
    type,
    status: ok ? 'True' : 'False',
    lastTransitionTime: now,
    lastProbeTime: null,
    ...(reason && !ok ? { reason } : {}),
  };
}

/**
 * The pod status the kubelet would report: phase, conditions (PodScheduled, Initialized, ContainersReady, Ready,
 * PodReadyToStartContainers), IPs and every container's state, with restarts and last termination.
 */
export function podStatus(
  pod: PodView,
  containers: ContainerView[],
  hostIP: string,
  now: string,
): Record<string, unknown> {
  const mains = containers.filter((c) => !c.init);
  const allReady = mains.length > 0 && mains.every((c) => c.ready) && !pod.deleting;
  return {
    phase: pod.phase,
    ...(pod.reason ? { reason: pod.reason, message: pod.message } : {}),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    ...(pod.podIP ? { podIP: pod.podIP, podIPs: [{ ip: pod.podIP }] } : {}),
    startTime: pod.startTime,
    conditions: [
      condition('PodReadyToStartContainers', !!pod.podIP, now),
      condition('Initialized', pod.initialized, now, 'ContainersNotInitialized'),
      condition('ContainersReady', allReady, now, 'ContainersNotReady'),
      condition('Ready', allReady, now, 'ContainersNotReady'),
      condition('PodScheduled', true, now),
    ],
    initContainerStatuses: containers.filter((c) => c.init).map(containerStatus),
    containerStatuses: mains.map(containerStatus),
  };
}

/**
 * The phase once containers have stopped, by restartPolicy: Always never finishes by itself; OnFailure
 * finishes when all exited 0; Never finishes when all have exited, Failed if any exited non-zero.
 */
export function finishedPhase(policy: string, mains: ContainerView[]): PodView['phase'] | undefined {
  const codes = mains.map((c) => (c.state.kind === 'terminated' ? c.state.exitCode : undefined));
  if (codes.some((c) => c === undefined)) return undefined;
  if (policy === 'Always') return undefined;
  if (codes.every((c) => c === 0)) return 'Succeeded';
  return policy === 'Never' ? 'Failed' : undefined;
}
