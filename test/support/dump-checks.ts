import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from './cli/binary.ts';
import type { ControlPlane } from './k8s/control-plane.ts';

/**
 * A new connection through a Service's DNS name, from a pod of the namespace, as `role` with its password (a
 * test-only one, as the seed's roles have): the server's version number, once the login succeeded.
 */
export async function viaService(
  cp: ControlPlane,
  ns: string,
  pod: string,
  service: string,
  role: { name: string; password: string },
  db: string,
): Promise<string> {
  const r = await cp.kubectl(
    [
      '-n',
      ns,
      'exec',
      pod,
      '--',
      'env',
      `PGPASSWORD=${role.password}`,
      `PGDATABASE=${db}`,
      'psql',
      '-X',
      '-A',
      '-t',
      '-h',
      service,
      '-U',
      role.name,
      '-c',
      "select current_setting('server_version_num')",
    ],
    { allowFail: true },
  );
  assert.is(r.code, 0, `${role.name} through Service ${service}: ${r.stderr}`);
  return r.stdout.trim();
}

/** One of validate's checks, as `-o json` prints it. */
export interface Check {
  id: string;
  status: string;
  found: string;
  details?: string[];
  fix?: string;
}

/** `validate -n <ns> -o json` (the source named by nothing: discovery finds it), its output kept for the secrets check. */
export async function validateJson(
  cp: ControlPlane,
  ns: string,
  outputs: RunResult[],
): Promise<{ code: number; stdout: string; stderr: string; checks: Check[] }> {
  const r = await runAsync(
    requireBinary(),
    ['validate', '-n', ns, '-o', 'json'],
    { KUBECONFIG: cp.kubeconfig },
    300_000,
  );
  outputs.push(r);
  const checks = (JSON.parse(r.stdout || '{"checks":[]}') as { checks: Check[] }).checks;
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, checks };
}

/** The spec.selector of a Service. */
export async function selectorOf(cp: ControlPlane, ns: string, svc: string): Promise<Record<string, string>> {
  return JSON.parse(
    (await cp.kubectl(['-n', ns, 'get', 'service', svc, '-o', 'jsonpath={.spec.selector}'])).stdout,
  ) as Record<string, string>;
}

/** spec.replicas of a workload (`deploy/x`, `sts/y`). */
export async function replicasOf(cp: ControlPlane, ns: string, workload: string): Promise<number> {
  return Number((await cp.kubectl(['-n', ns, 'get', workload, '-o', 'jsonpath={.spec.replicas}'])).stdout);
}
