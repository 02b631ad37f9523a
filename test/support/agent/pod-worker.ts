import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KubeObject, KubeRest } from '../kube/rest.ts';
import { ensurePostgres, type Major } from '../pg/fetch.ts';
import { parseImage, type ImageSpec } from '../sandbox/images.ts';
import { execIn, execProbe, runContainer, tcpProbe, type RunningContainer } from './container.ts';
import { resolveEnv } from './env.ts';
import type { PodNetwork, PodNetworks } from './network.ts';
import { finishedPhase, podStatus, type ContainerView, type PodView } from './status.ts';
import type { NodeStorage } from './storage.ts';
import { materializeVolumes, mountSource, type HostVolume } from './volumes.ts';

type Json = Record<string, any>;
export type Pod = KubeObject & { spec: Json; status?: Json };

/** What a pod worker needs from the agent. */
export interface WorkerDeps {
  rest: KubeRest;
  networks: PodNetworks;
  storage: NodeStorage;
  podsDir: string;
  /** Writes the pod's hosts file (the agent keeps it current as Services and Pods change). */
  writeHosts(pod: Pod, ip: string, file: string): void;
}

interface Ctr {
  spec: Json;
  view: ContainerView;
  image?: ImageSpec;
  run?: RunningContainer;
  logFile: string;
  probeTimers: NodeJS.Timeout[];
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
/** A container that cannot start: its image cannot be pulled, or its config is refused. */
const blocked = (c: Ctr) => c.view.state.kind === 'waiting' && c.view.state.reason !== 'PodInitializing';

/**
 * Runs one pod as the kubelet would: image check, network, volumes and VolumeAttachments, init containers in
 * order, then the containers with their probes and restart policy, real exit codes into the pod status; on
 * deletion the image's stop signal, the grace period, SIGKILL, detach, and the deletion confirmed.
 */
export class PodWorker {
  readonly pod: Pod;
  readonly ns: string;
  readonly name: string;
  private readonly deps: WorkerDeps;
  private readonly dir: string;
  private readonly ctrs: Ctr[] = [];
  private view: PodView;
  private net?: PodNetwork;
  private attachments: string[] = [];
  private patching = Promise.resolve();
  private terminating = false;
  private finished = false;

  constructor(pod: Pod, deps: WorkerDeps) {
    this.pod = pod;
    this.ns = pod.metadata.namespace as string;
    this.name = pod.metadata.name;
    this.deps = deps;
    this.dir = path.join(deps.podsDir, pod.metadata.uid as string);
    fs.mkdirSync(path.join(this.dir, 'logs'), { recursive: true });
    this.view = { phase: 'Pending', startTime: now(), initialized: false, deleting: false };
    for (const [init, list] of [
      [true, pod.spec.initContainers ?? []],
      [false, pod.spec.containers],
    ] as Array<[boolean, Json[]]>) {
      for (const spec of list) {
        this.ctrs.push({
          spec,
          logFile: path.join(this.dir, 'logs', `${spec.name}.log`),
          probeTimers: [],
          view: {
            name: spec.name,
            image: spec.image,
            init,
            state: { kind: 'waiting', reason: 'PodInitializing' },
            ready: false,
            started: false,
            restartCount: 0,
          },
        });
      }
    }
  }

  get ip(): string | undefined {
    return this.net?.ip;
  }

  /** Starts the pod; errors become the pod's status, never exceptions. */
  async start(): Promise<void> {
    try {
      if (!(await this.prepare())) return;
      for (const c of this.ctrs.filter((x) => x.view.init)) {
        if (!(await this.runInit(c))) return;
      }
      this.view.initialized = true;
      // The phase turns Running when a container has started (runOnce), as the kubelet reports it, not before
      // the launch: a client that waits for Running may exec at once.
      for (const c of this.ctrs.filter((x) => !x.view.init && !blocked(x))) this.startMain(c);
      this.report();
    } catch (err) {
      this.view.reason = 'AgentError';
      this.view.message = (err as Error).message;
      this.report();
    }
  }

  private async prepare(): Promise<boolean> {
    for (const c of this.ctrs) {
      c.image = parseImage(c.spec.image);
      if (!c.image)
        c.view.state = {
          kind: 'waiting',
          reason: 'ErrImagePull',
          message: `image "${c.spec.image}" is not one the test node agent runs`,
        };
      else if (this.nonRootViolation(c)) {
        c.view.state = {
          kind: 'waiting',
          reason: 'CreateContainerConfigError',
          message: 'container has runAsNonRoot and image will run as root',
        };
      }
    }
    this.report();
    this.backOffPulls();
    // As on a kubelet, a container that cannot start keeps only itself waiting, but an init container holds up the
    // whole pod; a pod none of whose containers can start gets no network or volumes here.
    if (this.ctrs.some((c) => blocked(c) && (c.view.init || this.ctrs.filter((x) => !x.view.init).every(blocked))))
      return false;
    this.net = await this.deps.networks.create((this.pod.metadata.uid as string).replace(/-/g, '').slice(0, 8));
    this.view.podIP = this.net.ip;
    this.deps.writeHosts(this.pod, this.net.ip, this.hostsFile());
    this.volumes = await this.mountVolumes();
    this.report();
    return true;
  }

  /**
   * The kubelet's image pull back-off, as its status shows it: ErrImagePull at each attempt, ImagePullBackOff in
   * between (1 s doubling to 8 s here, 5 min on a kubelet). Its attempts fail for good: the agent's table decides.
   */
  private backOffPulls(attempt = 0): void {
    const failed = this.ctrs.filter(
      (c) => c.view.state.kind === 'waiting' && /^(ErrImagePull|ImagePullBackOff)$/.test(c.view.state.reason),
    );
    if (!failed.length || this.terminating || this.finished) return;
    const backOff = attempt % 2 === 1;
    for (const c of failed) {
      c.view.state = backOff
        ? { kind: 'waiting', reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.spec.image}"` }
        : {
            kind: 'waiting',
            reason: 'ErrImagePull',
            message: `image "${c.spec.image}" is not one the test node agent runs`,
          };
    }
    if (attempt > 0) this.report();
    const delay = backOff ? 1000 * 2 ** Math.min(3, (attempt - 1) / 2) : 1000;
    setTimeout(() => this.backOffPulls(attempt + 1), delay).unref();
  }

  private volumes = new Map<string, HostVolume>();

  private hostsFile(): string {
    return path.join(this.dir, 'hosts');
  }

  /** Refreshes the hosts file in place (called by the agent on Service and Pod changes). */
  refreshHosts(): void {
    if (this.net && !this.finished) this.deps.writeHosts(this.pod, this.net.ip, this.hostsFile());
  }

  private securityContext(c: Ctr): { uid: number; gid: number; groups: number[]; nonRoot: boolean } {
    const pod = this.pod.spec.securityContext ?? {};
    const sc = c.spec.securityContext ?? {};
    const uid = Number(sc.runAsUser ?? pod.runAsUser ?? c.image?.user ?? 0);
    const gid = Number(sc.runAsGroup ?? pod.runAsGroup ?? (c.image && uid === c.image.user && uid === 999 ? 999 : 0));
    const groups = [pod.fsGroup, ...(pod.supplementalGroups ?? [])].filter((g) => g !== undefined).map(Number);
    return { uid, gid, groups, nonRoot: Boolean(sc.runAsNonRoot ?? pod.runAsNonRoot) };
  }

  private nonRootViolation(c: Ctr): boolean {
    const { uid, nonRoot } = this.securityContext(c);
    return nonRoot && uid === 0;
  }

  private async mountVolumes(): Promise<Map<string, HostVolume>> {
    const src = {
      secret: async (n: string) =>
        (await this.deps.rest.getOrNull<Json & KubeObject>(`/api/v1/namespaces/${this.ns}/secrets/${n}`))?.data ??
        undefined,
      configMap: async (n: string) =>
        (await this.deps.rest.getOrNull<Json & KubeObject>(`/api/v1/namespaces/${this.ns}/configmaps/${n}`))?.data ??
        undefined,
      token: (sa: string, audience: string | undefined, seconds: number) => this.token(sa, audience, seconds),
      pvcPath: async (claim: string) => {
        const deadline = Date.now() + 120_000;
        for (;;) {
          try {
            const { dir, pv } = await this.deps.storage.pvcPath(this.ns, claim);
            this.attachments.push(await this.deps.storage.attach(pv));
            return dir;
          } catch (err) {
            if (Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      },
      podField: (f: string) =>
        (({ 'metadata.namespace': this.ns, 'metadata.name': this.name }) as Record<string, string>)[f] ?? '',
    };
    const fsGroup = this.pod.spec.securityContext?.fsGroup;
    return materializeVolumes(
      this.pod.spec.volumes ?? [],
      this.dir,
      src,
      fsGroup === undefined ? undefined : Number(fsGroup),
      this.pod.spec.serviceAccountName ?? 'default',
    );
  }

  private async token(sa: string, audience: string | undefined, seconds: number): Promise<string> {
    const res = await this.deps.rest.create<Json & KubeObject>(
      `/api/v1/namespaces/${this.ns}/serviceaccounts/${sa}/token`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          audiences: audience ? [audience] : null,
          expirationSeconds: seconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: this.name, uid: this.pod.metadata.uid },
        },
      },
    );
    return res.status.token as string;
  }

  private async launch(c: Ctr) {
    const image = c.image as ImageSpec;
    const { uid, gid, groups } = this.securityContext(c);
    const facts = {
      name: this.name,
      namespace: this.ns,
      podIP: this.net?.ip ?? '',
      nodeName: this.pod.spec.nodeName,
      serviceAccountName: this.pod.spec.serviceAccountName ?? 'default',
    };
    const src = {
      secret: async (n: string) =>
        (await this.deps.rest.getOrNull<Json & KubeObject>(`/api/v1/namespaces/${this.ns}/secrets/${n}`))?.data,
      configMap: async (n: string) =>
        (await this.deps.rest.getOrNull<Json & KubeObject>(`/api/v1/namespaces/${this.ns}/configmaps/${n}`))?.data,
    };
    // Container runtimes set HOME from the image's passwd entry for the UID, '/' when it has none.
    const home = image.passwd.map((l) => l.split(':')).find((f) => Number(f[2]) === uid)?.[5] ?? '/';
    const env = { ...image.env, HOSTNAME: this.name, HOME: home, ...(await resolveEnv(c.spec, src, facts)) };
    // An idle stand-in runs its own entrypoint whatever the pod says: the sidecar's program is not in the environment.
    const command =
      image.layout === 'idle'
        ? image.entrypoint
        : c.spec.command
          ? [...c.spec.command, ...(c.spec.args ?? [])]
          : [...image.entrypoint, ...(c.spec.args ?? image.cmd)];
    const mounts = (c.spec.volumeMounts ?? []).map((m: Json) => {
      const vol = this.volumes.get(m.name);
      if (!vol) throw new Error(`volumeMount ${m.name} names no volume of the pod`);
      return {
        hostPath: mountSource(vol, m.subPath),
        mountPath: m.mountPath,
        readOnly: Boolean(m.readOnly) || vol.readOnly,
      };
    });
    const installs = await Promise.all(image.majors.map((m) => ensurePostgres(m as Major)));
    const scratchDir = path.join(this.dir, 'scratch', `${c.spec.name}-${c.view.restartCount}`);
    fs.mkdirSync(scratchDir, { recursive: true });
    return {
      image,
      installs,
      command,
      env,
      uid,
      gid,
      groups,
      mounts,
      cwd: c.spec.workingDir,
      hostname: this.pod.spec.hostname ?? this.name,
      netnsPath: (this.net as PodNetwork).netnsPath,
      hostsFile: this.hostsFile(),
      scratchDir,
      logFile: c.logFile,
    };
  }

  private async runInit(c: Ctr): Promise<boolean> {
    const policy = this.pod.spec.restartPolicy ?? 'Always';
    for (;;) {
      const code = await this.runOnce(c);
      if (this.terminating) return false;
      if (code === 0) return true;
      if (policy === 'Never') {
        this.view.phase = 'Failed';
        this.report();
        await this.release();
        return false;
      }
      c.view.restartCount++;
      await this.backoff(c);
    }
  }

  private async runOnce(c: Ctr): Promise<number> {
    // A restart's probes must wait for this run, not stop at the previous one, which is done.
    c.run = undefined;
    const started = now();
    c.run = runContainer(await this.launch(c));
    c.view.state = { kind: 'running', startedAt: started };
    if (this.view.phase === 'Pending' && !c.view.init) this.view.phase = 'Running';
    c.view.started = true;
    this.report();
    const { code, signal } = await c.run.proc.exited;
    const exitCode = signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : code;
    c.view.state = {
      kind: 'terminated',
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: started,
      finishedAt: now(),
    };
    c.view.ready = false;
    c.view.started = false;
    this.report();
    return exitCode;
  }

  private async backoff(c: Ctr): Promise<void> {
    const last = c.view.state;
    if (last.kind === 'terminated')
      c.view.lastTerminated = {
        exitCode: last.exitCode,
        reason: last.reason,
        startedAt: last.startedAt,
        finishedAt: last.finishedAt,
      };
    // The kubelet backs off 10 s, doubling to 5 min; the test node caps it at 8 s so that tests stay quick.
    const delay = Math.min(8000, 1000 * 2 ** Math.min(3, c.view.restartCount - 1));
    c.view.state = {
      kind: 'waiting',
      reason: 'CrashLoopBackOff',
      message: `back-off ${delay / 1000}s restarting failed container`,
    };
    this.report();
    await new Promise((r) => setTimeout(r, delay));
  }

  private startMain(c: Ctr): void {
    void (async () => {
      const policy = this.pod.spec.restartPolicy ?? 'Always';
      for (;;) {
        const run = this.runOnce(c);
        this.startProbes(c);
        const code = await run;
        this.stopProbes(c);
        if (this.terminating) return;
        const phase = finishedPhase(
          policy,
          this.ctrs.filter((x) => !x.view.init).map((x) => x.view),
        );
        if (phase) return this.finish(phase);
        if (policy === 'Never' || (policy === 'OnFailure' && code === 0)) return;
        c.view.restartCount++;
        await this.backoff(c);
        if (this.terminating) return;
      }
    })().catch((err: Error) => {
      this.view.message = err.message;
      this.report();
    });
  }

  private startProbes(c: Ctr): void {
    const ready = c.spec.readinessProbe;
    if (!ready) {
      c.view.ready = true;
      this.report();
    }
    for (const [kind, probe] of [
      ['readiness', ready],
      ['liveness', c.spec.livenessProbe],
    ] as Array<[string, Json | undefined]>) {
      if (!probe) continue;
      let failures = 0;
      let successes = 0;
      const tick = async () => {
        if (c.run?.done || this.terminating) return;
        // Under load the container may not be launched yet when the first tick comes: wait for it, or the probe
        // would never run again and the pod would stay unready for good.
        if (!c.run) {
          c.probeTimers.push(setTimeout(() => void tick(), 200));
          return;
        }
        // A probe that throws (an exec that could not even start) is a failed probe, as the kubelet counts it; the
        // next tick is scheduled either way, or one early error would leave the pod unready for good.
        const ok = await this.probe(c, probe).catch((err: Error) => {
          this.probeErrors.push(`${kind}: ${err.message}`);
          return false;
        });
        failures = ok ? 0 : failures + 1;
        successes = ok ? successes + 1 : 0;
        if (kind === 'readiness') {
          const next = ok
            ? successes >= (probe.successThreshold ?? 1) || c.view.ready
            : failures < (probe.failureThreshold ?? 3) && c.view.ready;
          if (next !== c.view.ready) {
            c.view.ready = next;
            this.report();
          }
        } else if (failures >= (probe.failureThreshold ?? 3)) c.run.proc.signal('SIGKILL');
        c.probeTimers.push(setTimeout(() => void tick(), (probe.periodSeconds ?? 10) * 1000));
      };
      c.probeTimers.push(setTimeout(() => void tick(), (probe.initialDelaySeconds ?? 0) * 1000 + 200));
    }
  }

  private stopProbes(c: Ctr): void {
    for (const t of c.probeTimers.splice(0)) clearTimeout(t);
  }

  /** The last errors of probes that could not run, for a test that wonders why a pod is not ready. */
  readonly probeErrors: string[] = [];

  private probe(c: Ctr, p: Json): Promise<boolean> {
    const timeout = (p.timeoutSeconds ?? 1) * 1000;
    // An idle stand-in answers its probes in place of the program it stands for (an exporter's httpGet).
    if (c.image?.layout === 'idle') return Promise.resolve(true);
    if (p.exec) return execProbe(c.run as RunningContainer, p.exec.command, Math.max(timeout, 5000));
    if (p.tcpSocket && this.net) {
      const port = typeof p.tcpSocket.port === 'number' ? p.tcpSocket.port : this.namedPort(c, p.tcpSocket.port);
      return tcpProbe(this.net.netnsPath, this.net.ip, port, timeout);
    }
    return Promise.resolve(false);
  }

  private namedPort(c: Ctr, name: string): number {
    const port = (c.spec.ports ?? []).find((p: Json) => p.name === name);
    return Number(port?.containerPort ?? name);
  }

  private async finish(phase: PodView['phase']): Promise<void> {
    this.view.phase = phase;
    this.report();
    await this.release();
  }

  /** Unmounts, as the kubelet does once a pod's containers are gone: network down, attachments deleted. */
  private async release(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.net)
      await this.deps.networks.destroy(this.net, (this.pod.metadata.uid as string).replace(/-/g, '').slice(0, 8));
    for (const va of this.attachments.splice(0)) await this.deps.storage.detach(va).catch(() => {});
  }

  /** Graceful deletion: the image's stop signal, the grace period, SIGKILL, release, then the deletion confirmed. */
  terminate(graceSeconds: number): Promise<void> {
    // Every status patch of a deleting pod comes back as an event that asks again: they all wait for the one
    // termination (the agent forgets the worker only once it is done, and never confirms the deletion early).
    this.terminated ??= this.stopAndConfirm(graceSeconds);
    return this.terminated;
  }

  private terminated?: Promise<void>;

  private async stopAndConfirm(graceSeconds: number): Promise<void> {
    this.terminating = true;
    this.view.deleting = true;
    this.report();
    const running = this.ctrs.filter((c) => c.run && !c.run.done);
    for (const c of running) {
      this.stopProbes(c);
      c.run?.proc.signal(c.image?.stopSignal ?? 'SIGTERM');
    }
    const all = Promise.all(running.map((c) => c.run?.proc.exited));
    const timer = setTimeout(() => running.forEach((c) => c.run?.proc.signal('SIGKILL')), graceSeconds * 1000);
    await all;
    clearTimeout(timer);
    await this.release();
    await this.patching;
    await this.deps.rest
      .delete(`/api/v1/namespaces/${this.ns}/pods/${this.name}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: this.pod.metadata.uid },
      })
      .catch((err: { status?: number }) => {
        if (err.status !== 404 && err.status !== 409) throw err; // gone already (and perhaps its name taken by a new pod)
      });
  }

  /** Kills everything at once (the agent is stopping). */
  async kill(): Promise<void> {
    this.terminating = true;
    for (const c of this.ctrs) c.run?.proc.signal('SIGKILL');
    await Promise.all(this.ctrs.map((c) => c.run?.proc.exited));
    await this.release();
  }

  /** The container for exec and logs. */
  container(name: string): Ctr | undefined {
    return (
      this.ctrs.find((c) => c.spec.name === name) ?? (name === '' ? this.ctrs.find((c) => !c.view.init) : undefined)
    );
  }

  exec(name: string, command: string[], opts: { stdin: boolean }) {
    const c = this.container(name);
    if (!c?.run || c.run.done) throw new Error(`container ${name} in pod ${this.name} is not running`);
    return execIn(c.run, command, opts);
  }

  private report(): void {
    const status = podStatus(
      this.view,
      this.ctrs.map((c) => c.view),
      '127.0.0.1',
      now(),
    );
    this.patching = this.patching.then(() =>
      this.deps.rest.patch(`/api/v1/namespaces/${this.ns}/pods/${this.name}/status`, { status }).then(
        () => {},
        () => {},
      ),
    );
  }
}
