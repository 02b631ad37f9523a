// `npm run demo`: the real thing within minutes. Starts the test environment (or reuses the running one), deploys
// the Bitnami-shaped PostgreSQL 13 StatefulSet of CircleCI Server with data, builds the binary if needed, and runs
// `kubectl pgupgrade check --to 15` against it.
// Usage: node scripts/demo.ts [extra check flags...]
import { spawn } from 'node:child_process';
import { DEMO_NS, ensureDemoDatabase } from './lib/demo-db.ts';

const { kubeconfig, bin, env } = await ensureDemoDatabase();
const args = ['check', '-n', DEMO_NS, '--to', '15', ...process.argv.slice(2)];
process.stderr.write(`\n$ export KUBECONFIG=${kubeconfig}\n$ kubectl pgupgrade ${args.join(' ')}\n\n`);
const child = spawn(bin, args, { env, stdio: 'inherit' });
const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
process.stderr.write([
  '',
  'The test environment keeps running; `npm run testenv:down` stops it. To check your own cluster instead, use',
  'your own kubeconfig: dist/kubectl-pgupgrade check -n <namespace> [sts/<name>] --to <major> (or, installed with',
  'krew, kubectl pgupgrade check …). check only reads: it changes nothing in the cluster.',
  '',
].join('\n'));
process.exitCode = code;
