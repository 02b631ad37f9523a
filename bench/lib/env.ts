// What the benchmarks that upgrade share: the test environment, kubectl, the binary, and a Bitnami-shaped
// PostgreSQL 13 with its writing application, seeded by pgbench at a scale.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up } from '../../scripts/testenv.ts';
import { ensureK8sBinaries } from '../../test/support/k8s/binaries.ts';
import { bitnamiFixture } from '../../test/support/fixtures/bitnami.ts';
import { repoRoot } from '../../test/support/paths.ts';

export type Kubectl = (args: string[], input?: string, allowFail?: boolean) => string;

/** Starts or reuses the test environment; builds the binary when it is missing. */
export async function benchEnv(): Promise<{
  k: Kubectl;
  bin: string;
  env: NodeJS.ProcessEnv;
  nodeDir: string;
  xfs: boolean;
  cls: string;
}> {
  const state = await up();
  const { kubectl } = await ensureK8sBinaries();
  const env = { ...process.env, KUBECONFIG: state.kubeconfig };
  // PGUPGRADE_BENCH_BIN: measure that binary (a copy, so that a build meanwhile does not change it mid-run).
  const bin = process.env.PGUPGRADE_BENCH_BIN ?? path.join(repoRoot, 'dist', 'kubectl-pgupgrade');
  if (!fs.existsSync(bin))
    spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build.ts')], { stdio: 'inherit' });
  const k: Kubectl = (args, input, allowFail = false) => {
    const r = spawnSync(kubectl, args, { env, input, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0 && !allowFail) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const xfs = k(['get', 'storageclass', 'local-xfs', '-o', 'name'], undefined, true).trim() !== '';
  return {
    k,
    bin,
    env,
    nodeDir: path.join(path.dirname(state.kubeconfig), 'node'),
    xfs,
    cls: xfs ? 'local-xfs' : 'local-path',
  };
}

/** A fresh restricted namespace with the Bitnami-shaped 13 and its application, pgbench data at `scale`; returns pgbench -i's seconds. */
export async function deployBitnami13(k: Kubectl, ns: string, scale: number, cls: string): Promise<number> {
  k(['delete', 'ns', ns, '--wait=true', '--timeout=180s'], undefined, true);
  k(['create', 'ns', ns]);
  k(['label', 'ns', ns, 'pod-security.kubernetes.io/enforce=restricted']);
  k(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: bitnamiFixture({
        namespace: ns,
        major: 13,
        password: `bench-${scale}-pw`,
        storageClassName: cls,
        storage: '40Gi',
      }),
    }),
  );
  for (let i = 0; k(['-n', ns, 'get', 'pod', 'circleci-postgresql-0'], undefined, true) === ''; i++) {
    if (i > 300) throw new Error('the database pod did not appear');
    await new Promise((r) => setTimeout(r, 200));
  }
  k(['-n', ns, 'wait', '--for=condition=Ready', 'pod/circleci-postgresql-0', '--timeout=180s']);
  const t = Date.now();
  k([
    '-n',
    ns,
    'exec',
    'circleci-postgresql-0',
    '--',
    'pgbench',
    '-i',
    '-q',
    '-s',
    String(scale),
    '-U',
    'postgres',
    'postgres',
  ]);
  return (Date.now() - t) / 1000;
}
