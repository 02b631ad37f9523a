import type { CommandModule } from 'yargs';
import {
  globalFlags,
  OUTPUT_CHOICES,
  SUPERUSER_SECRET_FLAG,
  superuserSecretOf,
  type GlobalArgs,
} from '../../global-args.ts';
import type { OutputFormat } from '../../renderer.ts';
import { usageError } from '../../exit-codes.ts';

interface SnapshotArgs extends GlobalArgs {
  workload?: string;
  wait: boolean;
  verify: boolean;
  list: boolean;
  'snapshot-class'?: string;
  timeout: number;
  'superuser-secret'?: string;
  output: OutputFormat;
}

/** `snapshot`: a CSI VolumeSnapshot of the data PVC. */
export const snapshotCommand: CommandModule<GlobalArgs, SnapshotArgs> = {
  command: 'snapshot [workload]',
  describe: "Take a CSI VolumeSnapshot of the database's data PVC (a CHECKPOINT first when it runs), or --list them",
  builder: (y) =>
    y
      .positional('workload', {
        type: 'string',
        describe: 'sts/<name>, deploy/<name> or a bare name (default: the only PostgreSQL workload in the namespace)',
      })
      .option('wait', {
        type: 'boolean',
        default: true,
        describe: 'Wait until the snapshot is ready to use; --no-wait returns once the storage has cut it',
      })
      .option('verify', {
        type: 'boolean',
        default: false,
        describe: 'Restore it to a temporary PVC, start PostgreSQL on it in a throwaway pod, compare, delete both',
      })
      .option('list', {
        type: 'boolean',
        default: false,
        describe: 'List the snapshots this plugin made in the namespace',
      })
      .option('snapshot-class', {
        type: 'string',
        describe: "VolumeSnapshotClass (default: the default class of the PVC's CSI driver)",
      })
      .option('timeout', {
        type: 'number',
        default: 600,
        describe: 'Seconds to wait for the snapshot to be cut, and again to be ready',
      })
      .option('superuser-secret', SUPERUSER_SECRET_FLAG)
      .option('output', {
        alias: 'o',
        choices: OUTPUT_CHOICES,
        default: 'text' as OutputFormat,
        describe: 'Output format',
      })
      .check((a) => {
        if (!(a.timeout > 0)) throw usageError(`--timeout ${a.timeout}: give a number of seconds above 0`);
        if (a.list && a.verify) throw usageError('--list and --verify do not go together: --list only reads');
        superuserSecretOf(a['superuser-secret']);
        return true;
      })
      .example(
        '$0 snapshot -n circleci-server',
        'snapshot the only PostgreSQL workload of the namespace and wait until it is ready',
      )
      .example('$0 snapshot -n app sts/postgresql --verify', 'and prove that it restores and starts with the same data')
      .example('$0 snapshot -n app --list -o json', 'the snapshots taken so far'),
  handler: async (argv) => {
    const [{ runSnapshot }, { createContext }, { processIo }] = await Promise.all([
      import('./run.ts'),
      import('../../context.ts'),
      import('../../output.ts'),
    ]);
    await runSnapshot(
      createContext(globalFlags(argv)),
      {
        workload: argv.workload,
        wait: argv.wait,
        verify: argv.verify,
        list: argv.list,
        snapshotClass: argv['snapshot-class'],
        timeoutSeconds: argv.timeout,
        output: argv.output,
        superuserSecret: superuserSecretOf(argv['superuser-secret']),
      },
      processIo,
    );
  },
};
