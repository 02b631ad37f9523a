import yargs, { type Argv } from 'yargs';
import { checkCommand } from './commands/check/command.ts';
import { cleanupCommand } from './commands/cleanup/command.ts';
import { completionCommand } from './commands/completion/command.ts';
import { snapshotCommand } from './commands/snapshot/command.ts';
import { upgradeCommand } from './commands/upgrade/command.ts';
import { validateCommand } from './commands/validate/command.ts';
import { versionCommand } from './commands/version/command.ts';
import type { GlobalArgs } from './global-args.ts';
import { CliError, ExitCode, exitCodeFor, usageError } from './exit-codes.ts';
import { isNoColor } from './renderer.ts';
import { messages } from './messages.ts';

/**
 * The root parser: global kube flags, strict parsing, and usage errors turned into exit code 2.
 * Subcommands load their implementation lazily, so `--help` parses nothing but this.
 */
export function buildParser(argv: string[]): Argv<GlobalArgs> {
  return (
    yargs(argv)
      .scriptName('kubectl-pgupgrade')
      .usage(messages.usage)
      .parserConfiguration({ 'populate--': false })
      .option('kubeconfig', { type: 'string', describe: 'Path to the kubeconfig file', global: true })
      .option('context', { type: 'string', describe: 'The kubeconfig context to use', global: true })
      .option('namespace', {
        alias: 'n',
        type: 'string',
        describe: "The namespace (default: the context's)",
        global: true,
      })
      .option('debug', {
        type: 'boolean',
        default: false,
        describe: 'Print stack traces and verbose task output',
        global: true,
      })
      .option('color', {
        type: 'boolean',
        default: true,
        describe: 'Colour output (--no-color, or NO_COLOR)',
        global: true,
      })
      .option('yes', {
        alias: 'y',
        type: 'boolean',
        default: false,
        describe: 'Answer yes to confirmations',
        global: true,
      })
      .command(checkCommand)
      .command(snapshotCommand)
      .command(upgradeCommand)
      .command(validateCommand)
      .command(cleanupCommand)
      .command(versionCommand)
      .command(completionCommand)
      .completion('__complete', false)
      .demandCommand(1, messages.noCommand)
      .recommendCommands()
      .strict()
      .version(false)
      .help()
      .alias('help', 'h')
      // A fixed width keeps help identical everywhere, so that it can be rendered once at build time.
      .wrap(100)
      .fail((msg, err) => {
        if (err) throw err;
        throw usageError(msg);
      }) as Argv<GlobalArgs>
  );
}

/** Runs the CLI and resolves to the exit code; reports errors as one line unless --debug. */
export async function runCli(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    await buildParser(argv).parseAsync();
    return ExitCode.ok;
  } catch (err) {
    reportError(err, debug, isNoColor(process.env) || argv.includes('--no-color'));
    return exitCodeFor(err);
  }
}

function reportError(err: unknown, debug: boolean, noColor: boolean): void {
  const message =
    err instanceof Error
      ? err.message
      : typeof (err as { message?: unknown })?.message === 'string'
        ? (err as { message: string }).message
        : String(err);
  if (message !== '') {
    const label = noColor || !process.stderr.isTTY ? 'error:' : '\x1b[31merror:\x1b[0m';
    process.stderr.write(`${label} ${message}\n`);
  }
  if (err instanceof CliError && err.exitCode === ExitCode.usage && !debug) {
    process.stderr.write(`${messages.seeHelp}\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/** The process entry: the only place that sets process.exitCode. A second Ctrl-C exits at once. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(ExitCode.interrupted);
    interrupted = true;
    process.exitCode = ExitCode.interrupted;
    process.stderr.write(`\n${messages.interrupted}\n`);
    void import('./interrupt.ts')
      .then(({ runInterruptCleanups }) => runInterruptCleanups(15_000))
      .finally(() => process.exit(ExitCode.interrupted));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.exitCode = await runCli(argv);
}
