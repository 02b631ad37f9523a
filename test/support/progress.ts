/**
 * What a first run on a new machine spends its minutes on, said on the terminal (stderr) while it happens: the
 * Go builds and the apt fetches of the test tools take minutes, and a newcomer must never stare at a silent
 * prompt. Every long step prints a line when it starts, one at least every 10 s with the time elapsed and its
 * own measure (packages compiled, bytes fetched), and one when it ends.
 */
import { cacheDir } from './paths.ts';

const HEARTBEAT_MS = 10_000;

interface ToolWork {
  what: string;
  started: number;
  ended: number;
}

/** The cold-start work this process did (builds and fetches into the cache), for the closing summary. */
const done: ToolWork[] = [];

/** `8600` → `8.6 s`, `95000` → `1 min 35 s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** `12345678` → `11.8 MB`. */
export function formatBytes(n: number): string {
  return n < 1 << 20 ? `${(n / 1024).toFixed(0)} kB` : `${(n / (1 << 20)).toFixed(1)} MB`;
}

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Runs `fn` while a line every 10 s says that `what` is still going, how long it has taken and `measure()`
 * (when given). Nothing is printed when it ends within the first interval, so warm runs stay quiet.
 */
export async function withHeartbeat<T>(what: string, fn: () => Promise<T>, measure?: () => string): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => {
    const m = measure?.();
    say(`  … ${what}: ${formatDuration(Date.now() - started)}${m ? `, ${m}` : ''}`);
  }, HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * A build or fetch into the machine's cache (done once per machine): announced when it starts, kept alive by
 * the heartbeat, timed when it ends, and counted in `coldStartSummary()`.
 */
export async function toolWork<T>(what: string, fn: () => Promise<T>, measure?: () => string): Promise<T> {
  const started = Date.now();
  say(`${what} (first run on this machine only; cached afterwards)…`);
  try {
    const result = await withHeartbeat(what, fn, measure);
    const m = measure?.();
    say(`${what}: done in ${formatDuration(Date.now() - started)}${m ? ` (${m})` : ''}`);
    done.push({ what, started, ended: Date.now() });
    return result;
  } catch (err) {
    say(`${what}: failed after ${formatDuration(Date.now() - started)}`);
    throw err;
  }
}

/**
 * One sentence on the cold start, when this process built or fetched anything: the wall time from the first
 * tool's start to the last one's end (they overlap). Undefined on a warm run.
 */
export function coldStartSummary(): string | undefined {
  if (done.length === 0) return undefined;
  const from = Math.min(...done.map((w) => w.started));
  const to = Math.max(...done.map((w) => w.ended));
  return (
    `cold start: building and fetching the test tools took ${formatDuration(to - from)} (${done.length} ` +
    `${done.length === 1 ? 'step' : 'steps'} above); they are cached now under ${cacheDir()}, and later runs skip this`
  );
}
