import { CliError, ExitCode, usageError } from './exit-codes.ts';

/**
 * Asks the user to type "yes" before something that stops a database; `-y` answers for them. Without a terminal
 * (and without -y) it refuses, as bad input: nothing was changed. A "no" is the user's choice, not a mistake in
 * the command line, so it ends the run (exit 1) without the usage hint.
 */
export async function confirmOrStop(assumeYes: boolean, what: string): Promise<void> {
  if (assumeYes) return;
  if (!process.stdin.isTTY)
    throw usageError(`${what}: confirm with -y/--yes (no terminal to ask on); nothing was changed`);
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question('Type "yes" to go on: ')).trim().toLowerCase();
    if (answer !== 'yes')
      throw new CliError(`not confirmed (you answered "${answer}"); nothing was changed`, ExitCode.failed);
  } finally {
    rl.close();
  }
}

/**
 * Asks the user to type `name` to let something of theirs go as well (cleanup's old instance); anything else, or
 * no terminal, keeps it. Returns whether they typed it.
 */
export async function confirmName(question: string, name: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (
      (
        await rl.question(`${question}\nType its name, ${name}, to delete it too, or press Enter to keep it: `)
      ).trim() === name
    );
  } finally {
    rl.close();
  }
}
