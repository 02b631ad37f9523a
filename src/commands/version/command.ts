import type { CommandModule } from 'yargs';
import { globalFlags, type GlobalArgs } from '../../global-args.ts';
import { OUTPUT_CHOICES } from '../../global-args.ts';
import type { OutputFormat } from '../../renderer.ts';

interface VersionArgs extends GlobalArgs {
  output: OutputFormat;
}

/** `version`: plugin version, git commit, embedded Node and, when reachable, the server's Kubernetes version. */
export const versionCommand: CommandModule<GlobalArgs, VersionArgs> = {
  command: 'version',
  describe: 'Print the plugin, Node and Kubernetes server versions',
  builder: (y) =>
    y
      .option('output', {
        alias: 'o',
        choices: OUTPUT_CHOICES,
        default: 'text' as OutputFormat,
        describe: 'Output format',
      })
      .example('$0 version -o json', 'versions as JSON'),
  handler: async (argv) => {
    const [{ runVersion }, { createContext }, { processIo }] = await Promise.all([
      import('./run.ts'),
      import('../../context.ts'),
      import('../../output.ts'),
    ]);
    await runVersion(createContext(globalFlags(argv)), { output: argv.output }, processIo);
  },
};
