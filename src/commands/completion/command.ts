import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../../global-args.ts';
import { SHELLS, type Shell } from './script.ts';

interface CompletionArgs extends GlobalArgs {
  shell: Shell;
}

/** `completion bash|zsh`: prints a script that completes subcommands and flags. */
export const completionCommand: CommandModule<GlobalArgs, CompletionArgs> = {
  command: 'completion <shell>',
  describe: 'Print a shell completion script (bash or zsh)',
  builder: (y) =>
    y
      .positional('shell', { choices: SHELLS, describe: 'The shell', demandOption: true })
      .example('source <($0 completion bash)', 'complete in the current bash')
      .example('$0 completion zsh > "${fpath[1]}/_kubectl-pgupgrade"', 'install for zsh'),
  handler: async (argv) => {
    const { completionScript } = await import('./script.ts');
    process.stdout.write(completionScript(argv.shell));
  },
};
