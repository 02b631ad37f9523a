/**
 * The exit codes of every subcommand, listed in the README. Only src/cli.ts turns them into process.exitCode.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  blocking: 3,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error that carries its own exit code; anything else thrown is an operation failure (1). */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;
  constructor(message: string, exitCode: ExitCodeValue) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Bad input: nothing in the cluster was changed. */
export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.usage);
}

/** A check or validation found problems that block the upgrade. */
export function blockingError(message: string): CliError {
  return new CliError(message, ExitCode.blocking);
}

/** Maps anything thrown to the exit code the process should end with. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof Error && err.name === 'AbortError') return ExitCode.interrupted;
  return ExitCode.failed;
}
