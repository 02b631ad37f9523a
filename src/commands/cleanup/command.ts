import type { CommandModule } from 'yargs';
import { globalFlags, OUTPUT_CHOICES, type GlobalArgs } from '../../global-args.ts';
import type { OutputFormat } from '../../renderer.ts';
import { usageError } from '../../exit-codes.ts';
import { parseDuration } from '../../duration.ts';

interface CleanupArgs extends GlobalArgs {
  workload?: string;
  'older-than': string;
  'keep-snapshots': boolean;
  'dry-run': boolean;
  force: boolean;
  'delete-old-instance': boolean;
  timeout: number;
  output: OutputFormat;
}

/** The duration of --older-than, or a usage error (exit 2) before anything is read. */
function olderThanMs(text: string): number {
  const d = parseDuration(text);
  if ('problem' in d) throw usageError(`--older-than ${d.problem}`);
  return d.ms;
}

/** `cleanup`: removes what a finished upgrade left behind, the old cluster first. */
export const cleanupCommand: CommandModule<GlobalArgs, CleanupArgs> = {
  command: 'cleanup [workload]',
  describe:
    'Remove what a finished upgrade left behind: the old cluster on the volume, its Jobs, restored PVCs, snapshot and record',
  builder: (y) =>
    y
      .positional('workload', {
        type: 'string',
        describe: 'sts/<name>, deploy/<name> or a bare name (default: the only PostgreSQL workload in the namespace)',
      })
      .option('older-than', {
        type: 'string',
        default: '24h',
        describe: 'Refuse while the upgrade finished less than this long ago (0s, 30m, 24h, 7d)',
      })
      .option('keep-snapshots', {
        type: 'boolean',
        default: false,
        describe: 'Keep the snapshot taken before the upgrade, and its fingerprint',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'List exactly what would be removed; change nothing',
      })
      .option('force', {
        type: 'boolean',
        default: false,
        describe:
          'Go on although the upgrade is younger than --older-than, or validate has not passed since it (said so)',
      })
      .option('delete-old-instance', {
        type: 'boolean',
        default: false,
        describe:
          'After an upgrade by dump: delete the old instance (the source workload, scaled to 0, and its PVC) too, as the record names it',
      })
      .option('timeout', { type: 'number', default: 600, describe: 'Seconds to wait for each step' })
      .option('output', {
        alias: 'o',
        choices: OUTPUT_CHOICES,
        default: 'text' as OutputFormat,
        describe: 'Output format of the list',
      })
      .check((a) => {
        olderThanMs(a['older-than']);
        if (!(a.timeout > 0)) throw usageError(`--timeout ${a.timeout}: give a number of seconds above 0`);
        return true;
      })
      .example('$0 cleanup -n circleci-server --dry-run', 'list what would be removed, and change nothing')
      .example(
        '$0 cleanup -n app deploy/postgres --delete-old-instance -y',
        'after an upgrade by dump: also delete the stopped old instance and its PVC',
      )
      .example(
        '$0 cleanup -n circleci-server --keep-snapshots',
        'remove the old cluster and the rest, keeping the snapshot, asking first',
      ),
  handler: async (argv) => {
    const [{ runCleanup }, { createContext }, { processIo }] = await Promise.all([
      import('./run.ts'),
      import('../../context.ts'),
      import('../../output.ts'),
    ]);
    await runCleanup(
      createContext(globalFlags(argv)),
      {
        workload: argv.workload,
        olderThanMs: olderThanMs(argv['older-than']),
        olderThan: argv['older-than'],
        keepSnapshots: argv['keep-snapshots'],
        dryRun: argv['dry-run'],
        force: argv.force,
        deleteOldInstance: argv['delete-old-instance'],
        timeoutSeconds: argv.timeout,
        output: argv.output,
      },
      processIo,
    );
  },
};
