// bench/rehearse: how well `upgrade --rehearse` predicts the downtime. At pgbench scales 7 and 50, on the
// Bitnami-shaped PostgreSQL 13 with an application that writes all along: the rehearsal to 15 by link (while the
// database serves), then the real upgrade right after on the same data, in one run. Goal (issue 16): the predicted
// downtime within ±30 % or ±3 s (whichever is larger) of the measured one.
// Usage: node bench/rehearse.ts [scales, default 7,50]   (starts or reuses the test environment)
import { spawnSync } from 'node:child_process';
import { journalDir, pollWrites, readJournal } from '../test/support/pg/writes.ts';
import { benchEnv, deployBitnami13 } from './lib/env.ts';

const scales = (process.argv[2] ?? '7,50').split(',').map(Number);
const { k, bin, env, nodeDir, cls } = await benchEnv();
console.log(`volumes: StorageClass ${cls}`);

interface Row {
  scale: number;
  predicted: number;
  graceBound: number;
  measured: number;
  parts: Array<{ part: string; ms: number }>;
  actual: Record<string, number>;
}
const rows: Row[] = [];
for (const scale of scales) {
  const ns = `bench-rehearse-s${scale}`;
  await deployBitnami13(k, ns, scale, cls);
  await pollWrites(async () => readJournal(await journalDir(k, nodeDir, ns, 'circleci-frontend')), {
    major: 13,
    moreThan: 10,
  });
  const run = (args: string[]) => {
    const r = spawnSync(bin, ['upgrade', '-n', ns, '--to', '15', '--method', 'link', '-o', 'json', ...args], {
      env,
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) throw new Error(`upgrade ${args.join(' ')} at s${scale} failed:\n${r.stdout}\n${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const reh = run(['--rehearse']) as {
    predictedDowntime: {
      seconds: number;
      parts: Array<{ part: string; ms: number }>;
      plusUpToSecondsIfAppsIgnoreSigterm: number;
    };
    checkEstimate: { seconds: number } | null;
  };
  console.log(
    `s${scale}: check's formula says ${reh.checkEstimate?.seconds ?? '?'} s; the rehearsal predicts ${reh.predictedDowntime.seconds} s`,
  );
  const real = run(['-y']) as { timingsMs: Record<string, number> };
  rows.push({
    scale,
    predicted: reh.predictedDowntime.seconds,
    graceBound: reh.predictedDowntime.plusUpToSecondsIfAppsIgnoreSigterm,
    measured: (real.timingsMs.downtime ?? 0) / 1000,
    parts: reh.predictedDowntime.parts,
    actual: real.timingsMs,
  });
  k(['delete', 'ns', ns, '--wait=false']);
}

console.log(`\n| | ${rows.map((r) => `s${r.scale}`).join(' | ')} |\n| --- | ${rows.map(() => '---').join(' | ')} |`);
console.log(`| predicted by --rehearse (s) | ${rows.map((r) => r.predicted.toFixed(1)).join(' | ')} |`);
console.log(`| measured, the upgrade right after (s) | ${rows.map((r) => r.measured.toFixed(1)).join(' | ')} |`);
for (const r of rows) {
  const err = r.predicted - r.measured;
  const allowed = Math.max(0.3 * r.measured, 3);
  console.log(
    `s${r.scale}: predicted ${r.predicted.toFixed(1)} s, measured ${r.measured.toFixed(1)} s, off by ${err.toFixed(1)} s (${((err / r.measured) * 100).toFixed(0)} %); ` +
      `goal within ±${allowed.toFixed(1)} s: ${Math.abs(err) <= allowed ? 'ok' : 'OVER GOAL'} (plus up to ${r.graceBound} s if the applications ignored SIGTERM)`,
  );
  console.log(`  predicted parts: ${r.parts.map((p) => `${p.part} ${(p.ms / 1000).toFixed(1)}`).join('; ')}`);
  console.log(
    `  measured parts: ${Object.entries(r.actual)
      .filter(([, v]) => v < 1e7)
      .map(([key, v]) => `${key} ${(v / 1000).toFixed(1)}`)
      .join('; ')}`,
  );
}
