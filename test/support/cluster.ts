import { ensureNodeHost, startNodeAgent, type NodeAgent } from './agent/agent.ts';
import { ensureControlPlaneTools, startControlPlane, type ControlPlane } from './k8s/control-plane.ts';
import { onTeardown } from './teardown.ts';

/** The test environment: a real control plane and the node agent that runs its pods. */
export interface TestEnv {
  cp: ControlPlane;
  agent: NodeAgent;
}

/**
 * Builds and fetches what the environment runs, without starting it: the control plane's binaries, etcd, the
 * CRDs and the node's packages. `npm run testenv:up` calls it in the foreground, so that a cold machine's minutes
 * of building show on the terminal rather than in the background server's log.
 */
export async function prepareTestEnv(): Promise<void> {
  await Promise.all([ensureControlPlaneTools(), ensureNodeHost()]);
}

let shared: Promise<ControlPlane> | undefined;
let sharedEnvP: Promise<TestEnv> | undefined;

/**
 * The control plane shared by every e2e test of one run: started on first use, stopped by the runner's
 * teardown. Tests keep apart by using namespaces of their own.
 */
export function sharedControlPlane(): Promise<ControlPlane> {
  if (!shared) {
    const started = Date.now();
    shared = startControlPlane().then((cp) => {
      process.stderr.write(`control plane up in ${((Date.now() - started) / 1000).toFixed(1)} s (${cp.server})\n`);
      onTeardown(() => cp.stop());
      return cp;
    });
  }
  return shared;
}

/** The shared control plane with the node agent running on it. */
export function sharedEnv(): Promise<TestEnv> {
  sharedEnvP ??= sharedControlPlane().then(async (cp) => {
    const started = Date.now();
    const agent = await startNodeAgent(cp);
    process.stderr.write(`node agent up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    onTeardown(() => agent.stop());
    return { cp, agent };
  });
  return sharedEnvP;
}

let counter = 0;

/** A fresh namespace name for one test, unique within the run. */
export function uniqueNamespace(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid.toString(36)}-${counter}`;
}
