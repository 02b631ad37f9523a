import * as assert from 'uvu/assert';
import { CliError, ExitCode } from '../../src/exit-codes.ts';

/** Runs fn, asserts it throws a usage error (exit 2), and returns the message for further asserts. */
export function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.instance(err, CliError);
    assert.is((err as CliError).exitCode, ExitCode.usage);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}
