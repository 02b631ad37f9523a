// The test environment for people: `npm run testenv:up` starts the control plane and the node agent in the
// background and prints `export KUBECONFIG=…` last; `npm run testenv:down` stops it and removes its state.
// Usage: node scripts/testenv.ts up|down|status
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir } from '../test/support/paths.ts';
import { coldStartSummary, formatDuration, withHeartbeat } from '../test/support/progress.ts';

const stateFile = cacheDir('testenv', 'state.json');
const logFile = cacheDir('testenv', 'testenv.log');

interface State {
  pid: number;
  kubeconfig: string;
  server: string;
  startedMs: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The running environment, if any (a stale state file from a dead server is removed). */
export function runningEnv(): State | undefined {
  if (!fs.existsSync(stateFile)) return undefined;
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as State;
  if (alive(state.pid) && fs.existsSync(state.kubeconfig)) return state;
  fs.rmSync(stateFile, { force: true });
  return undefined;
}

/** Starts the environment in the background, or reuses the running one; resolves to its state. */
export async function up(): Promise<State> {
  const existing = runningEnv();
  if (existing) return existing;
  fs.mkdirSync(path.dirname(stateFile), { recursive: true });
  const started = Date.now();
  const { prepareTestEnv } = await import('../test/support/cluster.ts');
  // Built and fetched here, in the foreground, so that a cold machine's minutes show on the terminal; the server
  // below writes to its log file only.
  await prepareTestEnv();
  const out = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  const state = await withHeartbeat('starting the control plane and the node agent', async () => {
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const s = runningEnv();
      if (s) return s;
      if (!alive(child.pid as number))
        throw new Error(`the test environment failed to start:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    }
  });
  process.stderr.write(`test environment up in ${formatDuration(Date.now() - started)} (log: ${logFile})\n`);
  return state;
}

async function serve(): Promise<void> {
  const { sharedEnv } = await import('../test/support/cluster.ts');
  const { runTeardowns } = await import('../test/support/teardown.ts');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await runTeardowns();
    fs.rmSync(stateFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  const { cp } = await sharedEnv();
  const state: State = { pid: process.pid, kubeconfig: cp.kubeconfig, server: cp.server, startedMs: Date.now() };
  fs.writeFileSync(stateFile, JSON.stringify(state));
  console.log(`serving ${cp.server}; kubeconfig ${cp.kubeconfig}`);
  setInterval(() => {}, 1 << 30);
}

async function down(): Promise<void> {
  const state = runningEnv();
  if (!state) return void console.log('no test environment is running');
  process.kill(state.pid, 'SIGTERM');
  while (alive(state.pid)) await new Promise((r) => setTimeout(r, 200));
  console.log('test environment stopped and its state removed');
}

const cmd = process.argv[2];
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (cmd === 'serve') await serve();
  else if (cmd === 'up') {
    const { kubeconfig } = await up();
    const cold = coldStartSummary();
    if (cold) process.stderr.write(`${cold}\n`);
    console.log(`export KUBECONFIG=${kubeconfig}`);
  } else if (cmd === 'down') await down();
  else if (cmd === 'status') console.log(runningEnv() ? JSON.stringify(runningEnv()) : 'not running');
  else {
    console.error('usage: node scripts/testenv.ts up|down|status');
    process.exit(2);
  }
}
