import type { GlobalFlags } from './context.ts';
import type { OutputFormat } from './renderer.ts';
import { usageError } from './exit-codes.ts';
import { parseSecretKeyRef } from './postgres/credentials.ts';

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

/** `--superuser-secret`, on the commands that read the superuser's password (check, snapshot, upgrade, validate). */
export const SUPERUSER_SECRET_FLAG = {
  type: 'string',
  describe:
    "The Secret and key that hold the superuser's password (<name>/<key>), when the pod spec does not lead to them (default: found from env, envFrom or *_FILE)",
} as const;

/** Parses `--superuser-secret name/key`: bad input (exit 2) when it is not that. */
export function superuserSecretOf(arg: string | undefined): { name: string; key: string } | undefined {
  if (arg === undefined) return undefined;
  try {
    return parseSecretKeyRef(arg);
  } catch (err) {
    throw usageError((err as Error).message);
  }
}
