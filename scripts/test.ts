// The test runner behind `npm test`: runs every test/**/*.test.ts with uvu in one process (so that the e2e
// environment is started once), runs the teardowns, and closes with the line CI reads: `N passed, N failed`.
// Usage: node scripts/test.ts [--unit|--e2e] [path-substring...]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runTeardowns } from '../test/support/teardown.ts';
import { repoRoot } from '../test/support/paths.ts';
import { coldStartSummary } from '../test/support/progress.ts';

const RUN_LIMIT_MS = 85 * 60_000;

function findTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
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

/** uvu prints its totals but returns nothing, so the runner reads them off its own output. */
function captureTotals(): { totals: () => { total: number; passed: number; skipped: number } } {
  let text = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  const num = (label: string) => {
    // eslint-disable-next-line no-control-regex
    const m = text.replace(/\x1b\[[0-9;]*m/g, '').match(new RegExp(`${label}:\\s+(\\d+)`));
    return m ? Number(m[1]) : 0;
  };
  return { totals: () => ({ total: num('Total'), passed: num('Passed'), skipped: num('Skipped') }) };
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
  const g = globalThis as { UVU_DEFER?: number; UVU_INDEX?: number; UVU_QUEUE?: unknown[][] };
  g.UVU_DEFER = 1;
  const uvu = await import('uvu');
  const capture = captureTotals();
  let importFailures = 0;
  // A stray rejection in test support (the node agent lives in this process) must not end the run without its
  // closing line: it is reported and counted as a failure.
  let strays = 0;
  process.on('unhandledRejection', (err) => {
    strays++;
    console.error(`\n✘ unhandled rejection: ${(err as Error)?.stack ?? String(err)}`);
  });
  for (const [i, file] of files.entries()) {
    g.UVU_INDEX = i;
    g.UVU_QUEUE?.push([path.relative(repoRoot, file)]);
    try {
      await import(pathToFileURL(file).href);
    } catch (err) {
      importFailures++;
      console.error(`\n✘ could not load ${path.relative(repoRoot, file)}:\n${(err as Error).stack}`);
    }
  }
  await uvu.exec(false);
  const teardownErrors = await runTeardowns();
  for (const e of teardownErrors) console.error(`teardown failed: ${e}`);
  const { total, passed, skipped } = capture.totals();
  // uvu counts skipped tests outside Total; a failing `before` hook leaves its tests un-passed without an error text.
  const failed = total - passed + importFailures + strays;
  const cold = coldStartSummary();
  if (cold) console.error(`\n${cold}`);
  console.log(`\n(${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
  process.exit(failed > 0 || total === 0 || teardownErrors.length > 0 ? 1 : 0);
}

await main();
