// Runs the test files' uvu suites in lanes: the unit files one after the other, then the e2e files side by side
// (they mostly wait on pods), at most `lanes` at a time, longest first. A file that changes what the whole process
// shares (process.env, the node agent's settings) exports `runsAlone` and runs with no other file beside it.
// Each file's uvu output is held and printed as one block when it ends, so that lanes do not interleave.
import { AsyncLocalStorage } from 'node:async_hooks';

type Runner = () => Promise<[string | true, number, number, number]>;

export interface Group {
  file: string;
  e2e: boolean;
  alone: boolean;
  runners: Runner[];
}

export interface GroupResult {
  file: string;
  e2e: boolean;
  ms: number;
  total: number;
  passed: number;
  skipped: number;
  /** The failed tests' error texts (empty when all passed). */
  errors: string;
}

interface Held {
  file: string;
  text: string[];
  done: boolean;
}

const held = new AsyncLocalStorage<Held>();
let hooked = false;

/** The test file whose tests are running in this async context (undefined outside the runner's lanes). */
export function currentFile(): string | undefined {
  return held.getStore()?.file;
}

/** Routes stdout written inside a group's async context into that group's block until the group ends. */
function holdStdout(): void {
  if (hooked) return;
  hooked = true;
  const write = process.stdout.write.bind(process.stdout) as (...a: unknown[]) => boolean;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const h = held.getStore();
    if (!h || h.done) return write(chunk, ...rest);
    h.text.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
}

async function runGroup(g: Group): Promise<GroupResult> {
  const h: Held = { file: g.file, text: [], done: false };
  const started = Date.now();
  const r: GroupResult = { file: g.file, e2e: g.e2e, ms: 0, total: 0, passed: 0, skipped: 0, errors: '' };
  await held.run(h, async () => {
    for (const run of g.runners) {
      const [errs, ran, skip, max] = await run();
      r.total += max;
      r.passed += ran;
      r.skipped += skip;
      if (errs !== true) r.errors += `\n${errs}\n`;
    }
  });
  h.done = true;
  r.ms = Date.now() - started;
  process.stdout.write(`\n${g.file}  (${(r.ms / 1000).toFixed(1)} s)\n${h.text.join('')}${r.errors}`);
  return r;
}

/** Runs `groups` to the end in at most `lanes` lanes; `alone` groups run first, each by itself. */
export async function runLanes(
  groups: Group[],
  lanes: number,
  expectedMs: (file: string) => number,
): Promise<GroupResult[]> {
  holdStdout();
  const results: GroupResult[] = [];
  const serial = [...groups.filter((g) => !g.e2e), ...groups.filter((g) => g.e2e && g.alone)];
  for (const g of serial) results.push(await runGroup(g));
  const queue = groups.filter((g) => g.e2e && !g.alone).sort((a, b) => expectedMs(b.file) - expectedMs(a.file));
  const lane = async () => {
    for (let g = queue.shift(); g; g = queue.shift()) results.push(await runGroup(g));
  };
  await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));
  return results;
}

/** The closing table: every e2e file's time, slowest first, and the unit files' sum. */
export function timeTable(results: GroupResult[]): string {
  const e2e = results.filter((r) => r.e2e).sort((a, b) => b.ms - a.ms);
  const unitMs = results.filter((r) => !r.e2e).reduce((s, r) => s + r.ms, 0);
  const rows = e2e.map(
    (r) => `  ${(r.ms / 1000).toFixed(0).padStart(5)} s  ${r.file}${r.total === r.passed ? '' : '  (failed)'}`,
  );
  return [
    'time per file (e2e side by side, so they overlap):',
    ...rows,
    `  ${(unitMs / 1000).toFixed(0).padStart(5)} s  the ${results.length - e2e.length} unit files`,
  ].join('\n');
}

/**
 * The failures again, at the end where a truncated log still shows them: each failed file with the first lines of
 * its errors (undefined when nothing failed).
 */
export function failureSummary(results: GroupResult[], linesEach = 12): string | undefined {
  const failed = results.filter((r) => r.total !== r.passed);
  if (failed.length === 0) return undefined;
  const block = (r: GroupResult) => {
    const lines = r.errors.split('\n').filter((l) => l.trim() !== '');
    const shown = lines.slice(0, linesEach).map((l) => `    ${l}`);
    const more =
      lines.length > linesEach ? [`    … ${lines.length - linesEach} more lines above, in the file's block`] : [];
    return [`  ${r.file}: ${r.total - r.passed} of ${r.total} not passed`, ...shown, ...more].join('\n');
  };
  return ['failed:', ...failed.map(block)].join('\n');
}
