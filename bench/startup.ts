// bench/startup: the binary's `--help` against `node -e 0` of the same Node, run alternately many times so
// that both see the same machine noise. Prints both medians and their ratio (goal: at most 1.3).
// Usage: node bench/startup.ts [runs]   (build first: npm run build)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'dist', 'kubectl-pgupgrade');
const runs = Number(process.argv[2] ?? 40);

function timeOnce(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run npm run build`);
const plugin: number[] = [];
const node: number[] = [];
timeOnce(bin, ['--help']);
timeOnce(process.execPath, ['-e', '0']);
for (let i = 0; i < runs; i++) {
  plugin.push(timeOnce(bin, ['--help']));
  node.push(timeOnce(process.execPath, ['-e', '0']));
}
const ratio = median(plugin) / median(node);
console.log(`runs: ${runs} each, alternating; node ${process.version}`);
console.log(`kubectl-pgupgrade --help  median ${median(plugin).toFixed(1)} ms`);
console.log(`node -e 0                 median ${median(node).toFixed(1)} ms`);
console.log(`ratio ${ratio.toFixed(2)} (goal <= 1.3) ${ratio <= 1.3 ? 'ok' : 'OVER GOAL'}`);
