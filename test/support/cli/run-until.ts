import { spawn } from 'node:child_process';
import type { ControlPlane } from '../k8s/control-plane.ts';
import { requireBinary } from './binary.ts';

/** Runs the binary, and does `act` the moment its output matches `marker` (a kill, a pause of the apiserver…). */
export function runUntil(
  cp: ControlPlane,
  args: string[],
  marker: RegExp,
  act: (kill: (sig: NodeJS.Signals) => void) => Promise<void>,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(requireBinary(), args, {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, KUBECONFIG: cp.kubeconfig },
  });
  let out = '';
  let fired = false;
  const seen = (d: Buffer) => {
    out += d.toString();
    if (!fired && marker.test(out)) {
      fired = true;
      void act((sig) => child.kill(sig));
    }
  };
  child.stdout.on('data', seen);
  child.stderr.on('data', seen);
  return new Promise((res) => child.on('close', (code) => res({ code, out })));
}
