import type { CommandModule } from 'yargs';
import { globalFlags, superuserSecretOf, type GlobalArgs } from '../../global-args.ts';
import { parseSelector } from '../../k8s/selector.ts';
import type { InPlaceMethod } from '../../state/state.ts';
import {
  APPLICATION_FLAGS,
  COMMON_FLAGS,
  DUMP_FLAGS,
  MODE_FLAGS,
  SAFETY_FLAGS,
  TARGET_FLAGS,
  type UpgradeArgs,
} from './flags.ts';
import { checkUpgradeArgs } from './flag-checks.ts';

/** `upgrade`: in place with pg_upgrade, every phase recorded; `--rollback` goes back. */
export const upgradeCommand: CommandModule<GlobalArgs, UpgradeArgs> = {
  command: 'upgrade [workload]',
  describe:
    'Upgrade in place with pg_upgrade (link, copy, clone, swap) in a Job, snapshot first; or --method dump into a new instance and cut the Service over. Resumable, --rollback',
  builder: (y) =>
    y
      .positional('workload', { type: 'string', describe: 'sts/<name>, deploy/<name> or a bare name' })
      .options(TARGET_FLAGS)
      .options(APPLICATION_FLAGS)
      .options(SAFETY_FLAGS)
      .options(MODE_FLAGS)
      .options(DUMP_FLAGS)
      .options(COMMON_FLAGS)
      .example(
        '$0 upgrade -n circleci-server --to 15 --dry-run',
        'print every object and patch it would apply, and change nothing',
      )
      .example(
        '$0 upgrade -n circleci-server --to 15',
        'upgrade, asking first; a re-run after any interruption resumes',
      )
      .example(
        '$0 upgrade -n circleci-server --to 15 --rehearse',
        'rehearse it on a clone while the database serves, and measure the downtime',
      )
      .example(
        '$0 upgrade -n postgres deploy/postgres --to 14 --method dump',
        'dump and restore into a new instance postgres-v14, then point the Service at it',
      )
      .example('$0 upgrade -n circleci-server --rollback', 'back to the old major')
      .check(checkUpgradeArgs),
  handler: async (argv) => {
    const [{ runUpgrade, runRollback }, { createContext }, { processIo }] = await Promise.all([
      import('./run.ts'),
      import('../../context.ts'),
      import('../../output.ts'),
    ]);
    if (argv.rollback) {
      const { runDumpRollback } = await import('./dump/run.ts');
      const rollbackOpts = {
        workload: argv.workload,
        appSelector: parseSelector(argv['app-selector']),
        timeoutSeconds: argv.timeout,
        superuserSecret: superuserSecretOf(argv['superuser-secret']),
      };
      if (await runDumpRollback(createContext(globalFlags(argv)), rollbackOpts, processIo)) return;
      await runRollback(
        createContext(globalFlags(argv)),
        {
          workload: argv.workload,
          appSelector: parseSelector(argv['app-selector']),
          timeoutSeconds: argv.timeout,
          superuserSecret: superuserSecretOf(argv['superuser-secret']),
        },
        processIo,
      );
      return;
    }
    if (argv.rehearse) {
      const { runRehearse } = await import('./rehearse-run.ts');
      await runRehearse(
        createContext(globalFlags(argv)),
        { ...upgradeOptions(argv), keepSnapshot: argv['keep-snapshot'] },
        processIo,
      );
      return;
    }
    if (argv.method === 'dump') {
      const { runDumpUpgrade } = await import('./dump/run.ts');
      await runDumpUpgrade(createContext(globalFlags(argv)), dumpOptions(argv), processIo);
      return;
    }
    await runUpgrade(createContext(globalFlags(argv)), { ...upgradeOptions(argv), method: argv.method }, processIo);
  },
};

/** The options of an upgrade by dump from the parsed flags. */
function dumpOptions(argv: UpgradeArgs) {
  return {
    workload: argv.workload,
    to: argv.to,
    targetImage: argv['target-image'],
    target: argv.target,
    storageClass: argv['storage-class'],
    size: argv.size,
    cutover: argv.cutover,
    appSelector: parseSelector(argv['app-selector']),
    apps: argv.app,
    force: argv.force,
    timeoutSeconds: argv.timeout,
    superuserSecret: superuserSecretOf(argv['superuser-secret']),
    dryRun: argv['dry-run'],
    output: argv.output,
    fullVerify: argv['full-verify'],
    gitopsPaused: argv['gitops-paused'],
    pauseGitops: argv['pause-gitops'],
  };
}

/** The options of an upgrade (or of its rehearsal) from the parsed flags. */
function upgradeOptions(argv: UpgradeArgs) {
  return {
    workload: argv.workload,
    to: argv.to,
    method: argv.method as InPlaceMethod,
    image: argv.image,
    jobImage: argv['job-image'],
    appSelector: parseSelector(argv['app-selector']),
    apps: argv.app,
    force: argv.force,
    snapshot: argv.snapshot,
    waitSnapshotReady: argv['wait-snapshot-ready'],
    patchWorkload: argv['patch-workload'],
    timeoutSeconds: argv.timeout,
    dryRun: argv['dry-run'],
    output: argv.output,
    fullVerify: argv['full-verify'],
    superuserSecret: superuserSecretOf(argv['superuser-secret']),
    gitopsPaused: argv['gitops-paused'],
    pauseGitops: argv['pause-gitops'],
    discardDumpRollback: argv['discard-dump-rollback'],
  };
}
