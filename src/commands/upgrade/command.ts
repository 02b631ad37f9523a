import type { CommandModule } from 'yargs';
import { globalFlags, OUTPUT_CHOICES, SUPERUSER_SECRET_FLAG, superuserSecretOf, type GlobalArgs } from '../../global-args.ts';
import { parseSelector } from '../../k8s/selector.ts';
import { verifyImageFlags } from '../../postgres/images.ts';
import type { OutputFormat } from '../../renderer.ts';
import { NEWEST_MAJOR, TARGET_MAJORS, targetProblem } from '../../postgres/versions.ts';
import { usageError } from '../../exit-codes.ts';
import type { InPlaceMethod } from '../../state/state.ts';

interface UpgradeArgs extends GlobalArgs {
  workload?: string;
  to: number;
  method: InPlaceMethod;
  image?: string;
  'job-image'?: string;
  'app-selector': string;
  app: string[];
  force: string[];
  snapshot: boolean;
  'wait-snapshot-ready': boolean;
  'patch-workload': boolean;
  'dry-run': boolean;
  rollback: boolean;
  'full-verify': boolean;
  rehearse: boolean;
  'keep-snapshot': boolean;
  timeout: number;
  'superuser-secret'?: string;
  output: OutputFormat;
}

/** `upgrade`: in place with pg_upgrade, every phase recorded; `--rollback` goes back. */
export const upgradeCommand: CommandModule<GlobalArgs, UpgradeArgs> = {
  command: 'upgrade [workload]',
  describe: 'Upgrade in place with pg_upgrade (link, copy, clone, swap) in a Job: snapshot first, resumable, --rollback',
  builder: (y) =>
    y
      .positional('workload', { type: 'string', describe: 'sts/<name>, deploy/<name> or a bare name' })
      .option('to', { type: 'number', default: NEWEST_MAJOR, describe: `Target major (${TARGET_MAJORS.join(', ')})` })
      .option('method', { choices: ['link', 'copy', 'clone', 'swap'] as const, default: 'link' as InPlaceMethod, describe: 'pg_upgrade transfer mode' })
      .option('image', { type: 'string', describe: 'The workload\'s image for the new major (default: the same repository at the new major, for postgres and bitnami/postgresql)' })
      .option('job-image', { type: 'string', describe: 'The upgrade Job\'s image, with both majors (default: tianon/postgres-upgrade:<old>-to-<new>)' })
      .option('app-selector', { type: 'string', default: 'layer=application', describe: 'Label selector of the application workloads to scale down' })
      .option('app', { type: 'string', array: true, default: [] as string[],
        describe: 'Also scale down this application workload (deploy/<name> or sts/<name>), which the selector does not match; repeatable' })
      .option('force', { type: 'string', array: true, default: [] as string[], describe: 'Go on despite this failing check (its id); repeatable' })
      .option('snapshot', { type: 'boolean', default: true, describe: '--no-snapshot skips the snapshot: no way back once the new server has started' })
      .option('wait-snapshot-ready', { type: 'boolean', default: false, describe: 'Keep the database down until the snapshot is ready to use, not just cut' })
      .option('patch-workload', { type: 'boolean', default: true, describe: '--no-patch-workload: print the change to make in Helm/GitOps, and stop' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print every object and patch, in order, as YAML; change nothing' })
      .option('full-verify', { type: 'boolean', default: false,
        describe: 'Compare the whole content (every row) before the applications return: downtime then grows with the data. By default ' +
          'the applications return once every relation and its size are found equal, and the content is compared while they start' })
      .option('rollback', { type: 'boolean', default: false, describe: 'Return to the old major: the directories while the new server never started, else the snapshot' })
      .option('rehearse', { type: 'boolean', default: false,
        describe: 'Run the whole upgrade on a snapshot clone of the live volume, production untouched: the same Job, the data compared, the downtime measured; a failed rehearsal holds back the upgrade to that major' })
      .option('keep-snapshot', { type: 'boolean', default: false, describe: 'With --rehearse: keep the rehearsal\'s snapshot' })
      .option('timeout', { type: 'number', default: 900, describe: 'Seconds to wait for each step' })
      .option('superuser-secret', SUPERUSER_SECRET_FLAG)
      .option('output', { alias: 'o', choices: OUTPUT_CHOICES, default: 'text' as OutputFormat, describe: 'Output format of the final report' })
      .example('$0 upgrade -n circleci-server --to 15 --dry-run', 'print every object and patch it would apply, and change nothing')
      .example('$0 upgrade -n circleci-server --to 15', 'upgrade, asking first; a re-run after any interruption resumes')
      .example('$0 upgrade -n circleci-server --to 15 --rehearse', 'rehearse it on a clone while the database serves, and measure the downtime')
      .example('$0 upgrade -n circleci-server --rollback', 'back to the old major')
      .check((a) => {
        const target = targetProblem(a.to);
        if (target) throw usageError(target);
        if (a.method === 'swap' && a.to < 18) throw usageError(`--method swap needs --to 18 or later (pg_upgrade --swap), not ${a.to}`);
        if (!(a.timeout > 0)) throw usageError(`--timeout ${a.timeout}: give a number of seconds above 0`);
        if (a.rehearse && (a.rollback || a['dry-run'])) throw usageError(`--rehearse changes nothing of production already; it does not go with ${a.rollback ? '--rollback' : '--dry-run'}`);
        if (a['keep-snapshot'] && !a.rehearse) throw usageError('--keep-snapshot goes with --rehearse (the upgrade always keeps its snapshot)');
        parseSelector(a['app-selector']);
        const image = verifyImageFlags(a.image, a['job-image'], a.to);
        if (image) throw usageError(image);
        superuserSecretOf(a['superuser-secret']);
        return true;
      }),
  handler: async (argv) => {
    const [{ runUpgrade, runRollback }, { createContext }, { processIo }] = await Promise.all([import('./run.ts'), import('../../context.ts'), import('../../output.ts')]);
    if (argv.rollback) {
      await runRollback(createContext(globalFlags(argv)), { workload: argv.workload, appSelector: parseSelector(argv['app-selector']), timeoutSeconds: argv.timeout,
        superuserSecret: superuserSecretOf(argv['superuser-secret']) }, processIo);
      return;
    }
    if (argv.rehearse) {
      const { runRehearse } = await import('./rehearse-run.ts');
      await runRehearse(createContext(globalFlags(argv)), { ...upgradeOptions(argv), keepSnapshot: argv['keep-snapshot'] }, processIo);
      return;
    }
    await runUpgrade(createContext(globalFlags(argv)), upgradeOptions(argv), processIo);
  },
};

/** The options of an upgrade (or of its rehearsal) from the parsed flags. */
function upgradeOptions(argv: UpgradeArgs) {
  return {
    workload: argv.workload, to: argv.to, method: argv.method, image: argv.image, jobImage: argv['job-image'], appSelector: parseSelector(argv['app-selector']), apps: argv.app,
    force: argv.force, snapshot: argv.snapshot, waitSnapshotReady: argv['wait-snapshot-ready'], patchWorkload: argv['patch-workload'],
    timeoutSeconds: argv.timeout, dryRun: argv['dry-run'], output: argv.output, fullVerify: argv['full-verify'],
    superuserSecret: superuserSecretOf(argv['superuser-secret']),
  };
}
