import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { up } from '../testenv.ts';
import { ensureK8sBinaries } from '../../test/support/k8s/binaries.ts';
import { bitnamiFixture } from '../../test/support/fixtures/bitnami.ts';
import { ensurePostgres } from '../../test/support/pg/fetch.ts';
import { seedCluster } from '../../test/support/pg/seed.ts';
import { repoRoot } from '../../test/support/paths.ts';
import { withHeartbeat } from '../../test/support/progress.ts';

/**
 * The demo is the seed's own case (circleci-pg-upgrade.md): CircleCI Server's Bitnami StatefulSet `postgresql` of
 * Helm release `circleci-server`, on PostgreSQL 12, upgraded by link into the vendor's 14.
 */
export const DEMO_NS = 'circleci-server';
export const DEMO_STS = 'postgresql';
export const DEMO_POD = `${DEMO_STS}-0`;
const POD = DEMO_POD;
export const DEMO_FROM = 12;
export const DEMO_TO = 14;
export const DEMO_IMAGE = 'cciserver.azurecr.io/circleci/server-postgres:14.22.4094-4922444';
/** The demo's application, which writes all along. */
export const DEMO_APP = 'circleci-server-frontend';
const FIXTURE = { namespace: DEMO_NS, major: DEMO_FROM, release: 'circleci-server', name: DEMO_STS, helm: true };

/** What the demo and bench/check need: a running environment, kubectl, the built binary. */
export interface DemoDb {
  kubeconfig: string;
  kubectl: string;
  bin: string;
  /** The node agent's state directory, where the application's journal volume lives. */
  nodeDir: string;
  env: NodeJS.ProcessEnv;
}

/** Runs a command without blocking the event loop, so that the heartbeat keeps talking while it waits. */
function run(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ code: number; out: string; err: string }> {
  const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(input ?? '');
  return new Promise((resolve) => child.on('close', (c) => resolve({ code: c ?? 1, out, err })));
}

/**
 * Starts the test environment or reuses the running one (the node agent runs in its background process), fetches
 * the PostgreSQL majors the demo runs (in the foreground, so a first run shows its progress), deploys and seeds the
 * database once, and builds the binary if needed.
 */
export async function ensureDemoDatabase(): Promise<DemoDb> {
  const state = await up();
  const { kubectl } = await ensureK8sBinaries();
  await Promise.all([ensurePostgres(DEMO_FROM), ensurePostgres(DEMO_TO)]);
  const env = { ...process.env, KUBECONFIG: state.kubeconfig };
  const k = async (args: string[], input?: string) => {
    const r = await run(kubectl, args, env, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const podReady = async () => {
    for (let i = 0; (await run(kubectl, ['-n', DEMO_NS, 'get', 'pod', POD], env)).code !== 0; i++) {
      if (i > 150) throw new Error(`pod ${DEMO_NS}/${POD} did not appear`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await k(['-n', DEMO_NS, 'wait', '--for=condition=Ready', `pod/${POD}`, '--timeout=120s']);
  };
  if ((await run(kubectl, ['get', 'ns', DEMO_NS], env)).code !== 0) {
    process.stderr.write(
      `deploying CircleCI Server's Bitnami-shaped PostgreSQL ${DEMO_FROM} into namespace ${DEMO_NS}…\n`,
    );
    await withHeartbeat(`deploying and seeding PostgreSQL ${DEMO_FROM} in ${DEMO_NS}`, async () => {
      await k(['create', 'ns', DEMO_NS]);
      await k(['label', 'ns', DEMO_NS, 'pod-security.kubernetes.io/enforce=restricted']);
      const password = `demo-${Math.random().toString(36).slice(2, 10)}`;
      await k(
        ['apply', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: bitnamiFixture({ ...FIXTURE, password }) }),
      );
      await podReady();
      await seedCluster(
        async (db, sql) =>
          k(
            [
              '-n',
              DEMO_NS,
              'exec',
              '-i',
              POD,
              '--',
              'psql',
              '-X',
              '-q',
              '-A',
              '-t',
              '-v',
              'ON_ERROR_STOP=1',
              '-U',
              'postgres',
              '-d',
              db,
              '-f',
              '-',
            ],
            sql,
          ),
        { rows: 2000 },
      );
    });
  }
  // The application writes all along (test/support/fixtures/writer.ts); a namespace made by an older demo gets it.
  const app = bitnamiFixture({ ...FIXTURE, password: 'unused' }).filter(
    (o) => (o.metadata as { labels?: Record<string, string> }).labels?.app === DEMO_APP,
  );
  await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: app }));
  // A database left stopped (by bench/check, or by hand) is started again.
  await k(['-n', DEMO_NS, 'scale', `sts/${DEMO_STS}`, '--replicas=1']);
  await withHeartbeat(`waiting for pod ${DEMO_NS}/${POD} to be Ready`, podReady);
  const bin = path.join(repoRoot, 'dist', 'kubectl-pgupgrade');
  if (!fs.existsSync(bin)) {
    await withHeartbeat('building dist/kubectl-pgupgrade', async () => {
      const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'build.ts')], { stdio: 'inherit' });
      await new Promise((r) => child.on('close', r));
    });
  }
  return {
    kubeconfig: state.kubeconfig,
    kubectl,
    bin,
    env,
    nodeDir: path.join(path.dirname(state.kubeconfig), 'node'),
  };
}
