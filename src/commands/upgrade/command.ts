import type { CommandModule } from 'yargs';
import {
  globalFlags,
  OUTPUT_CHOICES,
  SUPERUSER_SECRET_FLAG,
  superuserSecretOf,
  type GlobalArgs,
} from '../../global-args.ts';
import { parseSelector } from '../../k8s/selector.ts';
import { verifyDumpFlags, verifyImageFlags } from '../../postgres/image-flags.ts';
import type { OutputFormat } from '../../renderer.ts';
import { NEWEST_MAJOR, TARGET_MAJORS, targetProblem } from '../../postgres/versions.ts';
import { usageError } from '../../exit-codes.ts';
import type { InPlaceMethod } from '../../state/state.ts';

interface UpgradeArgs extends GlobalArgs {
  workload?: string;
  to: number;
  method: InPlaceMethod | 'dump';
  image?: string;
  target?: string;
  'target-image'?: string;
  'storage-class'?: string;
  size?: string;
  cutover: boolean;
  'job-image'?: string;
  'app-selector': string;
  app: string[];
  force: string[];
  snapshot: boolean;
  'wait-snapshot-ready': boolean;
  'patch-workload': boolean;
  'gitops-paused': boolean;
  'pause-gitops': boolean;
  'discard-dump-rollback': boolean;
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
  describe:
    'Upgrade in place with pg_upgrade (link, copy, clone, swap) in a Job, snapshot first; or --method dump into a new instance and cut the Service over. Resumable, --rollback',
  builder: (y) =>
    y
      .positional('workload', { type: 'string', describe: 'sts/<name>, deploy/<name> or a bare name' })
      .option('to', { type: 'number', default: NEWEST_MAJOR, describe: `Target major (${TARGET_MAJORS.join(', ')})` })
      .option('method', {
        choices: ['link', 'copy', 'clone', 'swap', 'dump'] as const,
        default: 'link' as InPlaceMethod | 'dump',
        describe:
          'pg_upgrade transfer mode, or dump: pg_dump/pg_restore into a new instance, then the Service cut over',
      })
      .option('image', {
        type: 'string',
        describe:
          "The workload's image for the new major (default: the same repository at the new major, for postgres and bitnami/postgresql)",
      })
      .option('job-image', {
        type: 'string',
        describe: "The upgrade Job's image, with both majors (default: tianon/postgres-upgrade:<old>-to-<new>)",
      })
      .option('app-selector', {
        type: 'string',
        default: 'layer=application',
        describe: 'Label selector of the application workloads to scale down',
      })
      .option('app', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe:
          'Also scale down this application workload (deploy/<name> or sts/<name>), which the selector does not match; repeatable',
      })
      .option('force', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Go on despite this failing check (its id); repeatable',
      })
      .option('snapshot', {
        type: 'boolean',
        default: true,
        describe: '--no-snapshot skips the snapshot: no way back once the new server has started',
      })
      .option('wait-snapshot-ready', {
        type: 'boolean',
        default: false,
        describe: 'Keep the database down until the snapshot is ready to use, not just cut',
      })
      .option('patch-workload', {
        type: 'boolean',
        default: true,
        describe: '--no-patch-workload: print the change to make in Helm/GitOps, and stop',
      })
      .option('gitops-paused', {
        type: 'boolean',
        default: false,
        describe:
          'Go on although Argo CD or Flux manages the workload or its applications: you paused its automated sync/healing yourself',
      })
      .option('pause-gitops', {
        type: 'boolean',
        default: false,
        describe:
          'Pause the Argo CD Applications (automated sync) and Flux Kustomizations/HelmReleases (suspend) that heal the workload or its ' +
          'applications, recorded first, and put each back exactly as it was when the upgrade ends or is rolled back',
      })
      .option('discard-dump-rollback', {
        type: 'boolean',
        default: false,
        describe:
          'Upgrade in place the old instance that a done upgrade by dump keeps as its way back, and so lose that --rollback',
      })
      .option('dry-run', {
        type: 'boolean',
        default: false,
        describe: 'Print every object and patch, in order, as YAML; change nothing',
      })
      .option('full-verify', {
        type: 'boolean',
        default: false,
        describe:
          'Compare the whole content (every row) before the applications return: downtime then grows with the data. By default ' +
          'the applications return once every relation and its size are found equal, and the content is compared while they start',
      })
      .option('rollback', {
        type: 'boolean',
        default: false,
        describe:
          'Return to the old major: the directories while the new server never started, else the snapshot; after --method dump, the Service back to the old instance',
      })
      .option('rehearse', {
        type: 'boolean',
        default: false,
        describe:
          'Run the whole upgrade on a snapshot clone of the live volume, production untouched: the same Job, the data compared, the downtime measured; a failed rehearsal holds back the upgrade to that major',
      })
      .option('keep-snapshot', {
        type: 'boolean',
        default: false,
        describe: "With --rehearse: keep the rehearsal's snapshot",
      })
      .option('target', {
        type: 'string',
        describe:
          '--method dump: load into this existing, empty instance (deploy/<name>, sts/<name>, svc/<name> or a bare name) ' +
          "in the namespace: PostgreSQL --to, one Ready replica, reached with its own Secret (--superuser-secret is the source's only); never created, reset or stopped " +
          "by the plugin; the source's own server is refused",
      })
      .option('target-image', {
        type: 'string',
        describe: "--method dump: the new instance's image (default: the source's repository at --to)",
      })
      .option('storage-class', {
        type: 'string',
        describe: "--method dump: the new PVC's StorageClass (default: the source PVC's)",
      })
      .option('size', { type: 'string', describe: "--method dump: the new PVC's size (default: the source PVC's)" })
      .option('cutover', {
        type: 'boolean',
        default: true,
        describe: '--method dump: --no-cutover leaves the Service alone and prints the patch',
      })
      .option('timeout', { type: 'number', default: 900, describe: 'Seconds to wait for each step' })
      .option('superuser-secret', SUPERUSER_SECRET_FLAG)
      .option('output', {
        alias: 'o',
        choices: OUTPUT_CHOICES,
        default: 'text' as OutputFormat,
        describe: 'Output format of the final report',
      })
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
      .check((a) => {
        const target = targetProblem(a.to);
        if (target) throw usageError(target);
        if (a.method === 'swap' && a.to < 18)
          throw usageError(`--method swap needs --to 18 or later (pg_upgrade --swap), not ${a.to}`);
        if (!(a.timeout > 0)) throw usageError(`--timeout ${a.timeout}: give a number of seconds above 0`);
        const dumpOnly =
          (['target', 'target-image', 'storage-class', 'size'] as const).find((k) => a[k] !== undefined) ??
          (a.cutover ? undefined : 'no-cutover');
        if (dumpOnly && a.method !== 'dump') throw usageError(`--${dumpOnly} goes with --method dump`);
        if (a['discard-dump-rollback'] && a.method === 'dump')
          throw usageError('--discard-dump-rollback goes with an upgrade in place, not --method dump');
        if (a.method === 'dump' && (a.rehearse || a.image || a['job-image']))
          throw usageError(
            `--method dump does not go with ${a.rehearse ? '--rehearse' : a.image ? '--image (use --target-image)' : '--job-image'}`,
          );
        if (a.rehearse && (a.rollback || a['dry-run']))
          throw usageError(
            `--rehearse changes nothing of production already; it does not go with ${a.rollback ? '--rollback' : '--dry-run'}`,
          );
        if (a['pause-gitops'] && (a.rehearse || a['gitops-paused'])) {
          throw usageError(
            `--pause-gitops does not go with ${a.rehearse ? '--rehearse (a rehearsal stops nothing of production)' : '--gitops-paused (either you paused it, or the plugin does)'}`,
          );
        }
        if (a['keep-snapshot'] && !a.rehearse)
          throw usageError('--keep-snapshot goes with --rehearse (the upgrade always keeps its snapshot)');
        parseSelector(a['app-selector']);
        const image =
          verifyImageFlags(a.image, a['job-image'], a.to) ??
          verifyDumpFlags({ targetImage: a['target-image'], size: a.size, storageClass: a['storage-class'], to: a.to });
        if (image) throw usageError(image);
        superuserSecretOf(a['superuser-secret']);
        return true;
      }),
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
