import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, parseDuration } from '../../src/duration.ts';

test('durations with s, m, h and d, alone or largest first', () => {
  assert.equal(parseDuration('0s'), { ms: 0 });
  assert.equal(parseDuration('30m'), { ms: 30 * 60_000 });
  assert.equal(parseDuration('24h'), { ms: 24 * 3_600_000 });
  assert.equal(parseDuration('7d'), { ms: 7 * 86_400_000 });
  assert.equal(parseDuration('1h30m'), { ms: 90 * 60_000 });
  assert.equal(parseDuration(' 2d12h '), { ms: 60 * 3_600_000 });
});

test('anything else is refused with what to type', () => {
  for (const bad of ['abc', '', '24', 'h', '-1h', '1.5h', '1w', '30m1h', '1h1h', '1 h', '24H']) {
    const r = parseDuration(bad);
    assert.ok('problem' in r, bad);
    if ('problem' in r) assert.match(r.problem, /e\.g\. 0s, 30m, 24h, 7d/);
  }
  const r = parseDuration('abc');
  assert.ok('problem' in r && r.problem.startsWith('"abc" is not a duration'));
});

test('formatDuration says the two largest units', () => {
  assert.is(formatDuration(0), '0s');
  assert.is(formatDuration(12_400), '12s');
  assert.is(formatDuration(45 * 60_000 + 3000), '45m 3s');
  assert.is(formatDuration(2 * 86_400_000 + 3 * 3_600_000 + 60_000), '2d 3h');
  assert.is(formatDuration(-5), '0s');
});

test.run();
