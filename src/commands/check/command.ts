import type { CommandModule } from 'yargs';
import {
  globalFlags,
  OUTPUT_CHOICES,
  SUPERUSER_SECRET_FLAG,
  superuserSecretOf,
  type GlobalArgs,
} from '../../global-args.ts';
import type { OutputFormat } from '../../renderer.ts';
import { NEWEST_MAJOR, TARGET_MAJORS, targetProblem, type Method } from '../../postgres/versions.ts';
import { usageError } from '../../exit-codes.ts';
import { parseSelector } from '../../k8s/selector.ts';
import { imageRefProblem } from '../../postgres/image-flags.ts';

interface CheckArgs extends GlobalArgs {
  workload?: string;
  to: number;
  method: Method;
  image?: string;
  'app-selector': string;
  'initdb-encoding'?: string;
  'initdb-lc-collate'?: string;
  'initdb-lc-ctype'?: string;
  'superuser-secret'?: string;
  output: OutputFormat;
}

/** `check`: the read-only preflight. */
export const checkCommand: CommandModule<GlobalArgs, CheckArgs> = {
  command: 'check [workload]',
  describe: 'Read-only preflight: find the database and report everything that would make an upgrade fail',
  builder: (y) =>
    y
      .positional('workload', {
        type: 'string',
        describe: 'sts/<name>, deploy/<name> or a bare name (default: the only PostgreSQL workload in the namespace)',
      })
      .option('to', { type: 'number', default: NEWEST_MAJOR, describe: `Target major (${TARGET_MAJORS.join(', ')})` })
      .option('method', {
        choices: ['link', 'copy', 'clone', 'swap', 'dump'] as const,
        default: 'link' as Method,
        describe: 'How the upgrade will move the data',
      })
      .option('image', {
        type: 'string',
        describe:
          "The image the upgrade will use (default: tianon/postgres-upgrade:<old>-to-<new>, or postgres:<new> for dump); one whose tag names one major (postgres:17-alpine) is also judged as the workload's new image",
      })
      .option('app-selector', {
        type: 'string',
        default: 'layer=application',
        describe: 'Label selector of the application workloads that the upgrade scales down',
      })
      .option('initdb-encoding', {
        type: 'string',
        describe: 'For a stopped database whose server cannot start: the encoding of template1',
      })
      .option('initdb-lc-collate', { type: 'string', describe: 'Likewise, its LC_COLLATE' })
      .option('initdb-lc-ctype', { type: 'string', describe: 'Likewise, its LC_CTYPE' })
      .option('superuser-secret', SUPERUSER_SECRET_FLAG)
      .option('output', {
        alias: 'o',
        choices: OUTPUT_CHOICES,
        default: 'text' as OutputFormat,
        describe: 'Output format',
      })
      .check((a) => {
        const target = targetProblem(a.to);
        if (target) throw usageError(target);
        if (a.method === 'swap' && a.to < 18)
          throw usageError(`--method swap needs --to 18 or later (pg_upgrade --swap), not ${a.to}`);
        parseSelector(a['app-selector']);
        const image = a.image === undefined ? undefined : imageRefProblem(a.image);
        if (image) throw usageError(`--image ${JSON.stringify(a.image)}: ${image}`);
        superuserSecretOf(a['superuser-secret']);
        return true;
      })
      .example('$0 check -n circleci-server --to 15', 'check the only PostgreSQL workload of the namespace')
      .example('$0 check -n app deploy/postgres --to 17 --method copy -o json', 'a named Deployment, as JSON'),
  handler: async (argv) => {
    const [{ runCheck }, { createContext }, { processIo }] = await Promise.all([
      import('./run.ts'),
      import('../../context.ts'),
      import('../../output.ts'),
    ]);
    const opts = {
      workload: argv.workload,
      to: argv.to,
      method: argv.method,
      image: argv.image,
      appSelector: parseSelector(argv['app-selector']),
      output: argv.output,
      superuserSecret: superuserSecretOf(argv['superuser-secret']),
      initdb: {
        encoding: argv['initdb-encoding'],
        lcCollate: argv['initdb-lc-collate'],
        lcCtype: argv['initdb-lc-ctype'],
      },
    };
    await runCheck(createContext(globalFlags(argv)), opts, processIo);
  },
};
