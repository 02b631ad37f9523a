import { startControlPlane, type ControlPlane } from './k8s/control-plane.ts';
import { onTeardown } from './teardown.ts';

let shared: Promise<ControlPlane> | undefined;

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

let counter = 0;

/** A fresh namespace name for one test, unique within the run. */
export function uniqueNamespace(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid.toString(36)}-${counter}`;
}
