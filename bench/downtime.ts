// bench/downtime: the downtime of `kubectl pgupgrade upgrade --method link` (applications scaled down → ready
// again) on the Bitnami-shaped PostgreSQL 13 with an application that writes all along (every write it saw
// committed is checked afterwards), at pgbench scales 7 and 150, broken into its
// parts, against the raw `pg_upgrade --link` of the same data (the snapshot the upgrade took) in the sandbox, run
// right after on the same filesystem. Volumes live on the test environment's XFS (reflink) class where the machine
// allows one, as real CSI snapshots are copy-on-write; the output says which.
// Usage: node bench/downtime.ts [scales, default 7,150]   (starts or reuses the test environment)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BITNAMI, runOn } from '../test/support/pg/server.ts';
import { assertWritesPresent, countWrites, journalDir, pollWrites, readJournal } from '../test/support/pg/writes.ts';
import { benchEnv, deployBitnami13 } from './lib/env.ts';

const scales = (process.argv[2] ?? '7,150').split(',').map(Number);
const { k, bin, env, nodeDir, xfs, cls } = await benchEnv();
console.log(
  `volumes: StorageClass ${cls} (${xfs ? 'XFS loop filesystem with reflinks: copy-on-write snapshots' : 'no reflink filesystem here: snapshots are full copies'})`,
);

interface Result {
  scale: number;
  mode: string;
  timings: Record<string, number>;
  rawMs: number;
}
const results: Result[] = [];
// Two ways to verify: the default compares the shape (every relation and its size) before the applications return
// and the content while they start; --full-verify compares the content first (it reads every row, so downtime
// grows with the data).
const modes: Array<[string, string[]]> = [
  ['default', []],
  ['--full-verify', ['--full-verify']],
];
for (const scale of scales)
  for (const [mode, flags] of modes) {
    const ns = `bench-downtime-s${scale}${flags.length ? '-full' : ''}`;
    const took = await deployBitnami13(k, ns, scale, cls);
    console.log(`s${scale}: pgbench -i took ${took.toFixed(0)} s`);
    // The application writes all along (fixtures/writer.ts); it must have written before the upgrade.
    const journal = async () => readJournal(await journalDir(k, nodeDir, ns, 'circleci-frontend'));
    const sql = async (db: string, q: string) =>
      k(
        [
          '-n',
          ns,
          'exec',
          '-i',
          'circleci-postgresql-0',
          '--',
          'psql',
          '-X',
          '-q',
          '-A',
          '-t',
          '-F',
          '\t',
          '-v',
          'ON_ERROR_STOP=1',
          '-U',
          'postgres',
          '-d',
          db,
          '-f',
          '-',
        ],
        q,
      );
    await pollWrites(journal, { major: 13, moreThan: 10 });
    const r = spawnSync(bin, ['upgrade', '-n', ns, '--to', '15', '--method', 'link', '-y', '-o', 'json', ...flags], {
      env,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) throw new Error(`upgrade at s${scale} failed:\n${r.stdout}\n${r.stderr}`);
    const rep = JSON.parse(r.stdout) as { snapshot: string; timingsMs: Record<string, number> };
    // It writes again on 15, and every write it saw committed is there.
    const writes = await pollWrites(journal, { major: 15, moreThan: 5 });
    const check = await assertWritesPresent(sql, writes);
    const n = countWrites(writes).byMajor;
    const wrote = `${check.committed} committed writes (${n[13]} on 13, ${n[15]} on 15), all present`;
    console.log(`s${scale}, ${mode}: the application: ${wrote}`);
    // The raw pg_upgrade --link of the same data: the snapshot holds the stopped cluster, copied (reflinked) beside it.
    const content = k([
      '-n',
      ns,
      'get',
      'volumesnapshot',
      rep.snapshot,
      '-o',
      'jsonpath={.status.boundVolumeSnapshotContentName}',
    ]).trim();
    const snapDir = path.join(nodeDir, ...(xfs ? ['xfs', 'snapshots'] : ['snapshots']), content);
    const volume = path.join(nodeDir, ...(xfs ? ['xfs'] : []), `bench-raw-${ns}`);
    fs.rmSync(volume, { recursive: true, force: true });
    spawnSync('cp', ['-a', '--reflink=auto', snapDir, volume]);
    const spec = JSON.parse(
      k(['-n', ns, 'get', 'configmap', 'pgupgrade-state-circleci-postgresql', '-o', 'jsonpath={.data.state\\.json}']),
    ) as { jobSpec: { initdb: string[] } };
    const out = await runOn([13, 15], volume, [
      'sh',
      '-c',
      `set -e
/usr/lib/postgresql/15/bin/initdb -D ${BITNAMI.mount}/data-15 -U postgres "$@" >/dev/null
cd /tmp
o=/usr/lib/postgresql/13/bin; n=/usr/lib/postgresql/15/bin
printf 'local all all trust\\n' > /tmp/hba; : > /tmp/empty.conf
t0=$(date +%s%N)
$n/pg_upgrade --link --jobs=$(nproc) -b $o -B $n -d ${BITNAMI.data} -D ${BITNAMI.mount}/data-15 -U postgres --socketdir=/tmp \\
  -o "-c config_file=/tmp/empty.conf -c hba_file=/tmp/hba" -O "-c hba_file=/tmp/hba" >/dev/null
echo "raw $(( ($(date +%s%N) - t0) / 1000000 ))"`,
      'sh',
      ...spec.jobSpec.initdb,
    ]);
    fs.rmSync(volume, { recursive: true, force: true });
    const rawMs = Number(/raw (\d+)/.exec(out)?.[1]);
    results.push({ scale, mode, timings: rep.timingsMs, rawMs });
    k(['delete', 'ns', ns, '--wait=false']);
  }

const s = (ms: number | undefined) => (ms === undefined ? '–' : (ms / 1000).toFixed(1));
const parts: Array<[string, string]> = [
  ['apps-down', 'applications stopped'],
  ['db-shutdown', 'clean shutdown'],
  ['volume-detach', 'volume detached'],
  ['snapshot', 'snapshot cut'],
  ['job-start', 'Job pod start'],
  ['pg_upgrade-check', 'pg_upgrade --check in the Job'],
  ['pg_upgrade', 'pg_upgrade in the Job'],
  ['job', 'whole Job'],
  ['db-up', 'new server Ready'],
  ['shape-before', 'shape read, old server'],
  ['shape-after', 'shape read, new server'],
  ['verified', 'verify inside downtime'],
  ['apps-up', 'applications Ready'],
  ['downtime', 'downtime'],
];
console.log(
  `\n| part (s) | ${results.map((r) => `s${r.scale}, ${r.mode}`).join(' | ')} |\n| --- | ${results.map(() => '---').join(' | ')} |`,
);
for (const [key, label] of parts) console.log(`| ${label} | ${results.map((r) => s(r.timings[key])).join(' | ')} |`);
console.log(`| raw pg_upgrade --link, same data, sandbox | ${results.map((r) => s(r.rawMs)).join(' | ')} |`);
// The waits that the user's own grace periods and probes impose: the apps' and the database's termination, and
// the readiness of the new server and of the apps.
const overhead = (r: Result) =>
  (r.timings.downtime ?? 0) -
  r.rawMs -
  (r.timings['apps-down'] ?? 0) -
  (r.timings['db-shutdown'] ?? 0) -
  (r.timings['db-up'] ?? 0) -
  (r.timings['apps-up'] ?? 0);
console.log(
  `| plugin overhead: downtime − raw − apps/db termination − readiness waits | ${results.map((r) => s(overhead(r))).join(' | ')} |`,
);
for (const r of results)
  console.log(
    `s${r.scale}, ${r.mode}: overhead ${s(overhead(r))} s; goal ≤ 3 s by default: ${overhead(r) <= 3000 ? 'ok' : 'OVER GOAL'}`,
  );
for (const [mode] of modes) {
  const rs = results.filter((r) => r.mode === mode);
  if (rs.length < 2) continue;
  const [a, b] = [rs[0] as Result, rs[rs.length - 1] as Result];
  const growth = (b.timings.downtime ?? 0) - (a.timings.downtime ?? 0);
  const rawGrowth = b.rawMs - a.rawMs;
  console.log(
    `flatness, ${mode}: downtime s${b.scale} − s${a.scale} = ${s(growth)} s; raw pg_upgrade's own difference ${s(rawGrowth)} s; goal ≤ raw + 1 s: ` +
      `${growth <= rawGrowth + 1000 ? 'ok' : 'OVER GOAL'} (verify inside downtime: ${s(a.timings.verified)} s → ${s(b.timings.verified)} s)`,
  );
}
