// bench/dump: `upgrade --method dump` against the seed's own Job (dump-restore-job.md: pg_dumpall into a file, then
// psql of it into the new instance), both end to end (applications down → applications up again), on the same
// pgbench data of seed 000's official postgres:12 Deployment, in one run; and the floor: pg_restore -j2 alone of a
// dump made beforehand into a new 14 tuned for the load, then CHECKPOINT and sync (with fsync off nothing is on disk
// until then; the plugin pays the same before its new instance serves). Goal (issue 14): at least 1.8× faster than the seed's Job at
// s150, and within 1.15× of the floor plus the pod starts (the applications' stop and start, and one restart of
// the new instance, which puts its durable settings back after the load, each measured here on its own).
// Usage: node bench/dump.ts [scales, default 50,150]   (starts or reuses the test environment)
import { spawnSync } from 'node:child_process';
import { loadSettings, loadSettingsSql } from '../src/postgres/dump-plan.ts';
import { officialFixture, officialSecret } from '../test/support/fixtures/official.ts';
import { benchEnv, type Kubectl } from './lib/env.ts';
import { seedJob, waitGone } from './lib/seed-job.ts';

const scales = (process.argv[2] ?? '50,150').split(',').map(Number);
const { k, bin, env, cls } = await benchEnv();
console.log(`volumes: StorageClass ${cls}`);
const PASSWORD = 'bench-dump-pw';
/** One restart of a new instance, measured by floorRestore. */
let restart = 0;
const sec = (t0: number) => (Date.now() - t0) / 1000;
const apply = (ns: string, items: unknown[]) =>
  k(['-n', ns, 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
const podOf = (ns: string, sel: string) =>
  k(['-n', ns, 'get', 'pods', '-l', sel, '-o', 'jsonpath={.items[0].metadata.name}']).trim();

async function ready(ns: string, sel: string): Promise<string> {
  for (let i = 0; !k(['-n', ns, 'get', 'pods', '-l', sel, '-o', 'name'], undefined, true).trim(); i++) {
    if (i > 600) throw new Error(`no pod ${sel} in ${ns}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  k(['-n', ns, 'wait', '--for=condition=Ready', 'pod', '-l', sel, '--timeout=300s']);
  return podOf(ns, sel);
}

/** psql as `user` in a pod of `sel` (the password is the pod's own env: nothing on the command line). */
const psql = (ns: string, pod: string, user: string, sql: string) =>
  k(
    [
      '-n',
      ns,
      'exec',
      '-i',
      pod,
      '--',
      'psql',
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-U',
      user,
      '-d',
      'postgres',
      '-f',
      '-',
    ],
    sql,
  );

/** Scales a Deployment and waits: 0 → its pods gone; n → ready. */
async function scaleDeploy(ns: string, name: string, n: number, sel: string): Promise<void> {
  k(['-n', ns, 'scale', `deploy/${name}`, `--replicas=${n}`]);
  if (n === 0) await waitGone(k, ns, sel);
  else k(['-n', ns, 'rollout', 'status', `deploy/${name}`, '--timeout=300s']);
}

interface Row {
  scale: number;
  dataMb: number;
  seed: number;
  seedParts: string;
  plugin: number;
  pluginParts: string;
  floor: number;
  podStarts: number;
}
const rows: Row[] = [];
for (const scale of scales) {
  const ns = `bench-dump-s${scale}`;
  k(['delete', 'ns', ns, '--wait=true', '--timeout=300s'], undefined, true);
  k(['create', 'ns', ns]);
  apply(ns, [
    officialSecret(ns, PASSWORD),
    ...officialFixture({
      namespace: ns,
      major: 12,
      password: PASSWORD,
      appReplicas: 1,
      storageClassName: cls,
      storage: '40Gi',
    }),
  ]);
  const src = await ready(ns, 'k8s-app=postgres');
  k(['-n', ns, 'exec', src, '--', 'pgbench', '-i', '-q', '-s', String(scale), '-U', 'admin', 'postgres']);
  const dataMb = Math.round(
    Number(psql(ns, src, 'admin', 'select sum(pg_database_size(datname)) from pg_database').trim()) / 2 ** 20,
  );
  await ready(ns, 'app=postgres-app');

  // 1. The seed's way: its new Deployment made beforehand (not timed), then apps down, the Job, the Service, apps up.
  apply(
    ns,
    officialFixture({
      namespace: ns,
      name: 'postgres-v14',
      major: 14,
      user: 'pg-14-admin',
      password: PASSWORD,
      storageClassName: cls,
      storage: '40Gi',
    }),
  );
  await ready(ns, 'k8s-app=postgres-v14');
  const t = Date.now();
  await scaleDeploy(ns, 'postgres-app', 0, 'app=postgres-app');
  const down = sec(t);
  const job = await seedJob(k, ns);
  k([
    '-n',
    ns,
    'patch',
    'service',
    'postgres',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec: { selector: { 'k8s-app': 'postgres-v14' } } }),
  ]);
  const t2 = Date.now();
  await scaleDeploy(ns, 'postgres-app', 1, 'app=postgres-app');
  const up = sec(t2);
  const seed = sec(t);
  console.log(
    `s${scale} (${dataMb} MB): the seed's Job ${seed.toFixed(1)} s (apps down ${down.toFixed(1)}, dump ${job.dump.toFixed(1)}, load ${job.load.toFixed(1)}, apps up ${up.toFixed(1)})` +
      (job.retried ? '; its first run failed on a name lookup: the figure includes that run' : ''),
  );

  // Back to the source for the plugin: the Service, the application on 12; the seed's instance removed.
  await scaleDeploy(ns, 'postgres-app', 0, 'app=postgres-app');
  k([
    '-n',
    ns,
    'patch',
    'service',
    'postgres',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec: { selector: { 'k8s-app': 'postgres' } } }),
  ]);
  k([
    '-n',
    ns,
    'delete',
    'deploy/postgres-v14',
    'service/postgres-v14',
    'pvc/pgdata-v14',
    'job/pg-update',
    '--wait=true',
  ]);
  await scaleDeploy(ns, 'postgres-app', 1, 'app=postgres-app');

  // 2. upgrade --method dump, its own downtime (apps down → apps up).
  const r = spawnPlugin(ns);
  const plugin = (r.timingsMs.downtime ?? 0) / 1000;
  const parts = Object.entries(r.timingsMs)
    .filter(([key, v]) => key !== 'downtime' && v < 1e9)
    .map(([key, v]) => `${key} ${(v / 1000).toFixed(1)}`)
    .join(', ');
  console.log(`s${scale}: upgrade --method dump ${plugin.toFixed(1)} s of downtime (${parts})`);

  // 3. The floor: a dump made beforehand, restored alone into a new 14 tuned as the plugin tunes its target.
  const floor = await floorRestore(k, ns);
  rows.push({
    scale,
    dataMb,
    seed,
    seedParts: `dump ${job.dump.toFixed(1)} + load ${job.load.toFixed(1)}`,
    plugin,
    pluginParts: parts,
    floor,
    podStarts: down + up + restart,
  });
  k(['delete', 'ns', ns, '--wait=false']);
}

function spawnPlugin(ns: string): { timingsMs: Record<string, number> } {
  const r = spawnSync(bin, ['upgrade', '-n', ns, '--to', '14', '--method', 'dump', '-y', '-o', 'json'], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`upgrade --method dump in ${ns} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as { timingsMs: Record<string, number> };
}

async function floorRestore(kc: Kubectl, ns: string): Promise<number> {
  apply(
    ns,
    officialFixture({
      namespace: ns,
      name: 'postgres-floor',
      major: 14,
      password: PASSWORD,
      storageClassName: cls,
      storage: '40Gi',
    }),
  );
  let pod = await ready(ns, 'k8s-app=postgres-floor');
  psql(ns, pod, 'admin', loadSettingsSql(loadSettings(undefined, 2)));
  // A restart of a new instance, as the plugin's after the load (its settings back): a pod start of its own.
  const t0 = Date.now();
  await scaleDeploy(ns, 'postgres-floor', 0, 'k8s-app=postgres-floor');
  await scaleDeploy(ns, 'postgres-floor', 1, 'k8s-app=postgres-floor');
  restart = sec(t0);
  pod = await ready(ns, 'k8s-app=postgres-floor');
  const dir = '/var/lib/postgresql/data/floor-dump';
  // The source is read over the Service of the old instance, which the plugin left scaled to 0: start it again.
  kc(['-n', ns, 'scale', 'deploy/postgres', '--replicas=1']);
  const srcPod = await ready(ns, 'k8s-app=postgres');
  const srcIp = kc(['-n', ns, 'get', 'pod', srcPod, '-o', 'jsonpath={.status.podIP}']).trim();
  const sh = (script: string) =>
    kc([
      '-n',
      ns,
      'exec',
      pod,
      '--',
      'sh',
      '-c',
      `PGPASSWORD="$POSTGRES_PASSWORD" PGUSER=admin; export PGPASSWORD PGUSER; ${script}`,
    ]);
  sh(`rm -rf ${dir} && pg_dump -h ${srcIp} -Fd -Z0 -j2 -f ${dir} postgres`);
  const t = Date.now();
  sh(`pg_restore -h 127.0.0.1 -j2 --exit-on-error -d postgres ${dir}`);
  const restored = sec(t);
  // Not loaded until it is on disk: with fsync off nothing was flushed (the plugin pays the same before it serves).
  sh('psql -X -q -h 127.0.0.1 -d postgres -c CHECKPOINT && sync');
  const floor = sec(t);
  console.log(
    `${ns}: the floor, pg_restore -j2 alone into a tuned 14: ${restored.toFixed(1)} s, then CHECKPOINT and sync: ${floor.toFixed(1)} s`,
  );
  return floor;
}

console.log(
  '\n| pgbench | ' +
    rows.map((r) => `s${r.scale} (${r.dataMb} MB)`).join(' | ') +
    ' |\n| --- | ' +
    rows.map(() => '---').join(' | ') +
    ' |',
);
console.log(
  "| the seed's Job, apps down → up (s) | " +
    rows.map((r) => `${r.seed.toFixed(1)} (${r.seedParts})`).join(' | ') +
    ' |',
);
console.log(`| upgrade --method dump, apps down → up (s) | ${rows.map((r) => r.plugin.toFixed(1)).join(' | ')} |`);
console.log(
  '| floor: pg_restore -j2 alone into a tuned target, then CHECKPOINT and sync (s) | ' +
    rows.map((r) => r.floor.toFixed(1)).join(' | ') +
    ' |',
);
console.log(
  '| pod starts: apps down + up, a restart of the new instance (s) | ' +
    rows.map((r) => r.podStarts.toFixed(1)).join(' | ') +
    ' |',
);
for (const r of rows) {
  const speedup = r.seed / r.plugin;
  const bound = 1.15 * (r.floor + r.podStarts);
  console.log(
    `s${r.scale}: ${speedup.toFixed(2)}× faster than the seed's Job${r.scale >= 150 ? ` (goal ≥ 1.8×: ${speedup >= 1.8 ? 'ok' : 'UNDER GOAL'})` : ''}; ` +
      `${r.plugin.toFixed(1)} s against 1.15 × (floor ${r.floor.toFixed(1)} + pod starts ${r.podStarts.toFixed(1)}) = ${bound.toFixed(1)} s: ${r.plugin <= bound ? 'ok' : 'OVER GOAL'}`,
  );
  console.log(`  the plugin's parts: ${r.pluginParts}`);
}
