import type { CommandModule } from 'yargs';
import {
  globalFlags,
  OUTPUT_CHOICES,
  SUPERUSER_SECRET_FLAG,
  superuserSecretOf,
  type GlobalArgs,
} from '../../global-args.ts';
import type { OutputFormat } from '../../renderer.ts';

interface ValidateArgs extends GlobalArgs {
  workload?: string;
  analyze: boolean;
  'update-extensions': boolean;
  'reindex-collations': boolean;
  amcheck: boolean;
  'superuser-secret'?: string;
  output: OutputFormat;
}

/** `validate`: proves that the upgraded database is whole and ready. */
export const validateCommand: CommandModule<GlobalArgs, ValidateArgs> = {
  command: 'validate [workload]',
  describe:
    'Prove that an upgraded database is whole and ready (read-only unless a flag asks for a repair); exit 3 on a FAIL',
  builder: (y) =>
    y
      .positional('workload', {
        type: 'string',
        describe: 'sts/<name>, deploy/<name> or a bare name (default: the only PostgreSQL workload in the namespace)',
      })
      .option('analyze', {
        type: 'boolean',
        default: false,
        describe:
          'Repair: rebuild missing planner statistics (vacuumdb --all --analyze-in-stages; --missing-stats-only on 18+)',
      })
      .option('update-extensions', {
        type: 'boolean',
        default: false,
        describe: "Repair: ALTER EXTENSION … UPDATE each extension older than the target's default",
      })
      .option('reindex-collations', {
        type: 'boolean',
        default: false,
        describe:
          "Repair: REINDEX the indexes on collations whose recorded version is not the library's, then REFRESH the recorded versions",
      })
      .option('amcheck', {
        type: 'boolean',
        default: false,
        describe:
          'Also run bt_index_check on every B-tree index (amcheck is created in a transaction and dropped after when not installed)',
      })
      .option('superuser-secret', SUPERUSER_SECRET_FLAG)
      .option('output', {
        alias: 'o',
        choices: OUTPUT_CHOICES,
        default: 'text' as OutputFormat,
        describe: 'Output format',
      })
      .epilog(
        'One line per check, PASS, WARN or FAIL, each with its fix. The data is compared with the reference fingerprint the upgrade ' +
          'recorded when writes had stopped. The applications write again afterwards, so validate tells their writes from a loss by the ' +
          "server's own activity counters (rows inserted, updated, deleted since the new server started): a table that nothing has written " +
          'since must equal the reference exactly, else FAIL with the diff; a table written since is listed, not judged; a sequence may only ' +
          'have advanced. Counters reset after the upgrade (a crash, pg_stat_reset) turn such differences into warnings.',
      )
      .example('$0 validate -n circleci-server', 'every check, read-only')
      .example('$0 validate -n app sts/postgresql --amcheck -o json', 'and every B-tree index, as JSON')
      .example(
        '$0 validate -n app --analyze --update-extensions --reindex-collations',
        'repair what the checks found, then check again',
      ),
  handler: async (argv) => {
    const [{ runValidate }, { createContext }, { processIo }] = await Promise.all([
      import('./run.ts'),
      import('../../context.ts'),
      import('../../output.ts'),
    ]);
    await runValidate(
      createContext(globalFlags(argv)),
      {
        workload: argv.workload,
        analyze: argv.analyze,
        updateExtensions: argv['update-extensions'],
        reindexCollations: argv['reindex-collations'],
        amcheck: argv.amcheck,
        output: argv.output,
        superuserSecret: superuserSecretOf(argv['superuser-secret']),
      },
      processIo,
    );
  },
};
