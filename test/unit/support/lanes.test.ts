import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { currentFile, failureSummary, runLanes, timeTable, type Group } from '../../support/lanes.ts';

const test = suite(
  "the test runner's lanes: e2e files side by side, those that change the process alone, each file's output whole",
);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('alone files run with nothing beside them; the others at most two at a time, longest first; each knows its file', async () => {
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const group = (file: string, e2e: boolean, alone = false, ms = 20): Group => ({
    file,
    e2e,
    alone,
    runners: [
      async () => {
        running++;
        most = Math.max(most, running);
        log.push(`start ${file} alone=${String(alone)} beside=${running - 1} in=${currentFile()}`);
        await sleep(ms);
        running--;
        return [true, 1, 0, 1];
      },
    ],
  });
  const groups = [
    group('u', false),
    group('e-short', true, false, 5),
    group('e-long', true, false, 30),
    group('e-alone', true, true),
    group('e-mid', true),
  ];
  const expected: Record<string, number> = { 'e-short': 1, 'e-long': 9, 'e-mid': 5 };
  const results = await runLanes(groups, 2, (f) => expected[f] ?? 0);
  assert.equal(
    log.map((l) => l.split(' ')[1]),
    ['u', 'e-alone', 'e-long', 'e-mid', 'e-short'],
  );
  assert.ok(
    log.every((l) => l.endsWith(`in=${l.split(' ')[1]}`)),
    log.join('\n'),
  );
  assert.match(log[1] ?? '', 'beside=0');
  assert.is(most, 2);
  assert.is(
    results.reduce((n, r) => n + r.passed, 0),
    5,
  );
  assert.match(timeTable(results), /s {2}e-long\n/);
});

test('a failing test counts as run but not passed, and its error is kept', async () => {
  const results = await runLanes(
    [{ file: 'f', e2e: true, alone: false, runners: [async () => ['FAIL x', 1, 0, 2]] }],
    2,
    () => 0,
  );
  assert.equal([results[0]?.total, results[0]?.passed], [2, 1]);
  assert.match(timeTable(results), '(failed)');
});

test('the failures are named again at the end, with the first lines of their errors', async () => {
  const errs = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
  const run = async (): Promise<[string | true, number, number, number]> => [errs, 0, 0, 1];
  const ok = async (): Promise<[string | true, number, number, number]> => [true, 1, 0, 1];
  const results = await runLanes(
    [
      { file: 'bad', e2e: true, alone: false, runners: [run] },
      { file: 'good', e2e: true, alone: false, runners: [ok] },
    ],
    2,
    () => 0,
  );
  const summary = failureSummary(results, 3) ?? '';
  assert.match(summary, /^failed:\n {2}bad: 1 of 1 not passed\n {4}line 0\n {4}line 1\n {4}line 2\n/);
  assert.match(summary, '17 more lines');
  assert.not.match(summary, 'good');
  assert.is(failureSummary(results.filter((r) => r.file === 'good')), undefined);
});

test.run();
