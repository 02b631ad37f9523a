import type { GlobalFlags } from './context.ts';
import type { OutputFormat } from './renderer.ts';

/** The global flags as yargs parses them (-o is a per-command option). */
export type GlobalArgs = Omit<GlobalFlags, 'output'>;

export const OUTPUT_CHOICES: readonly OutputFormat[] = ['text', 'json', 'yaml'];

/** Picks the shared flags out of a command's parsed arguments. */
export function globalFlags(argv: GlobalArgs & { output?: OutputFormat }): GlobalFlags {
  return {
    kubeconfig: argv.kubeconfig,
    context: argv.context,
    namespace: argv.namespace,
    debug: argv.debug,
    color: argv.color,
    yes: argv.yes,
    output: argv.output,
  };
}
