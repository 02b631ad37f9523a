import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { blockingError, CliError, ExitCode, exitCodeFor, usageError } from '../../src/exit-codes.ts';

test('the documented codes', () => {
  assert.equal(ExitCode, { ok: 0, failed: 1, usage: 2, blocking: 3, interrupted: 130 });
});

test('errors map to their codes; anything unexpected is an operation failure', () => {
  assert.is(exitCodeFor(usageError('bad flag')), 2);
  assert.is(exitCodeFor(blockingError('3 checks failed')), 3);
  assert.is(exitCodeFor(new CliError('x', ExitCode.interrupted)), 130);
  assert.is(exitCodeFor(new Error('boom')), 1);
  assert.is(exitCodeFor('a string'), 1);
  const abort = new Error('aborted');
  abort.name = 'AbortError';
  assert.is(exitCodeFor(abort), 130);
});

test.run();
