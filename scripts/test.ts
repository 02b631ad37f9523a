// The test runner behind `npm test`: runs every test/**/*.test.ts with uvu in one process (so that the e2e
// environment is started once; its e2e files side by side, see lanes.ts), runs the teardowns, prints each file's
// time and closes with the line CI reads: `N passed, N failed`. PGUPGRADE_TEST_LANES=1 runs the files one by one.
// Usage: node scripts/test.ts [--unit|--e2e] [path-substring...]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runTeardowns } from '../test/support/teardown.ts';
import { cacheDir, repoRoot } from '../test/support/paths.ts';
import { failureSummary, runLanes, timeTable, type Group, type GroupResult } from '../test/support/lanes.ts';
import { coldStartSummary } from '../test/support/progress.ts';

const RUN_LIMIT_MS = 85 * 60_000;
// e2e files side by side. On CI's 2 cores two lanes overlapped fully; three thrashed (the three heaviest files,
// started together, took 71 min each and the run passed its limit), so two.
const DEFAULT_LANES = 2;

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function selectTests(args: string[]): string[] {
  const kinds = args.includes('--unit') ? ['unit'] : args.includes('--e2e') ? ['e2e'] : ['unit', 'e2e'];
  const filters = args.filter((a) => !a.startsWith('--'));
  const files = kinds.flatMap((k) => findTests(path.join(repoRoot, 'test', k)));
  return filters.length ? files.filter((f) => filters.some((s) => f.includes(s))) : files;
}

/** Each e2e file's time in the last run here (the project's cache), so that the next run starts the slowest first. */
function timesFile(): string {
  return cacheDir('test-times.json');
}

function readTimes(): Record<string, number> {
  try {
    return JSON.parse(fs.readFileSync(timesFile(), 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

function saveTimes(results: GroupResult[]): void {
  const times = readTimes();
  for (const r of results) if (r.e2e) times[r.file] = r.ms;
  fs.mkdirSync(path.dirname(timesFile()), { recursive: true });
  fs.writeFileSync(timesFile(), JSON.stringify(times, null, 1));
}

/** Imports every file, each into a group of its own; a file that failed to load is counted and reported. */
async function loadGroups(files: string[]): Promise<{ groups: Group[]; importFailures: number }> {
  const g = globalThis as unknown as { UVU_DEFER?: number; UVU_INDEX?: number; UVU_QUEUE: unknown[][] };
  g.UVU_DEFER = 1;
  await import('uvu');
  const groups: Group[] = [];
  let importFailures = 0;
  for (const file of files) {
    const rel = path.relative(repoRoot, file);
    g.UVU_INDEX = g.UVU_QUEUE.push([rel]) - 1;
    const queued = g.UVU_QUEUE[g.UVU_INDEX] ?? [];
    try {
      const mod = (await import(pathToFileURL(file).href)) as { runsAlone?: string };
      const runners = queued.slice(1) as Group['runners'];
      groups.push({ file: rel, e2e: rel.startsWith(path.join('test', 'e2e')), alone: Boolean(mod.runsAlone), runners });
    } catch (err) {
      importFailures++;
      console.error(`\n✘ could not load ${rel}:\n${(err as Error).stack}`);
    }
  }
  return { groups, importFailures };
}

async function main(): Promise<void> {
  const files = selectTests(process.argv.slice(2));
  const started = Date.now();
  const guard = setTimeout(() => {
    console.error(`\ntest run exceeded ${RUN_LIMIT_MS / 60_000} min; stopping`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }, RUN_LIMIT_MS);
  guard.unref();
  // A stray rejection in test support (the node agent lives in this process) must not end the run without its
  // closing line: it is reported and counted as a failure.
  let strays = 0;
  process.on('unhandledRejection', (err) => {
    strays++;
    console.error(`\n✘ unhandled rejection: ${(err as Error)?.stack ?? String(err)}`);
  });
  const { groups, importFailures } = await loadGroups(files);
  const times = readTimes();
  const lanes = Number(process.env.PGUPGRADE_TEST_LANES || DEFAULT_LANES);
  const results = await runLanes(groups, lanes, (f) => times[f] ?? Number.MAX_SAFE_INTEGER);
  saveTimes(results);
  const teardownErrors = await runTeardowns();
  for (const e of teardownErrors) console.error(`teardown failed: ${e}`);
  const total = results.reduce((n, r) => n + r.total, 0);
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  console.error(`\n${timeTable(results)}`);
  // uvu counts skipped tests outside Total; a failing `before` hook leaves its tests un-passed without an error text.
  const failed = total - passed + importFailures + strays;
  const failures = failureSummary(results);
  if (failures) console.log(`\n${failures}`);
  const cold = coldStartSummary();
  if (cold) console.error(`\n${cold}`);
  console.log(`\n(${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed > 0 || total === 0 || teardownErrors.length > 0 ? 1 : 0);
}

await main();
