import type { Options } from 'yargs';
import { OUTPUT_CHOICES, SUPERUSER_SECRET_FLAG, type GlobalArgs } from '../../global-args.ts';
import type { OutputFormat } from '../../renderer.ts';
import { NEWEST_MAJOR, TARGET_MAJORS } from '../../postgres/versions.ts';
import type { InPlaceMethod } from '../../state/state.ts';

/** The parsed flags of `upgrade`. */
export interface UpgradeArgs extends GlobalArgs {
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

/** The major to reach, the transfer mode and the images. */
export const TARGET_FLAGS = {
  to: { type: 'number', default: NEWEST_MAJOR, describe: `Target major (${TARGET_MAJORS.join(', ')})` },
  method: {
    choices: ['link', 'copy', 'clone', 'swap', 'dump'] as const,
    default: 'link' as InPlaceMethod | 'dump',
    describe: 'pg_upgrade transfer mode, or dump: pg_dump/pg_restore into a new instance, then the Service cut over',
  },
  image: {
    type: 'string',
    describe:
      "The workload's image for the new major (default: the same repository at the new major, for postgres and bitnami/postgresql)",
  },
  'job-image': {
    type: 'string',
    describe: "The upgrade Job's image, with both majors (default: tianon/postgres-upgrade:<old>-to-<new>)",
  },
} satisfies Record<string, Options>;

/** The applications to scale down, and the checks to go on despite. */
export const APPLICATION_FLAGS = {
  'app-selector': {
    type: 'string',
    default: 'layer=application',
    describe: 'Label selector of the application workloads to scale down',
  },
  app: {
    type: 'string',
    array: true,
    default: [] as string[],
    describe:
      'Also scale down this application workload (deploy/<name> or sts/<name>), which the selector does not match; repeatable',
  },
  force: {
    type: 'string',
    array: true,
    default: [] as string[],
    describe: 'Go on despite this failing check (its id); repeatable',
  },
} satisfies Record<string, Options>;

/** The snapshot, the workload patch and GitOps. */
export const SAFETY_FLAGS = {
  snapshot: {
    type: 'boolean',
    default: true,
    describe: '--no-snapshot skips the snapshot: no way back once the new server has started',
  },
  'wait-snapshot-ready': {
    type: 'boolean',
    default: false,
    describe: 'Keep the database down until the snapshot is ready to use, not just cut',
  },
  'patch-workload': {
    type: 'boolean',
    default: true,
    describe: '--no-patch-workload: print the change to make in Helm/GitOps, and stop',
  },
  'gitops-paused': {
    type: 'boolean',
    default: false,
    describe:
      'Go on although Argo CD or Flux manages the workload or its applications: you paused its automated sync/healing yourself',
  },
  'pause-gitops': {
    type: 'boolean',
    default: false,
    describe:
      'Pause the Argo CD Applications (automated sync) and Flux Kustomizations/HelmReleases (suspend) that heal the workload or its ' +
      'applications, recorded first, and put each back exactly as it was when the upgrade ends or is rolled back',
  },
  'discard-dump-rollback': {
    type: 'boolean',
    default: false,
    describe:
      'Upgrade in place the old instance that a done upgrade by dump keeps as its way back, and so lose that --rollback',
  },
} satisfies Record<string, Options>;

/** What the run does: print, verify in full, roll back or rehearse. */
export const MODE_FLAGS = {
  'dry-run': {
    type: 'boolean',
    default: false,
    describe: 'Print every object and patch, in order, as YAML; change nothing',
  },
  'full-verify': {
    type: 'boolean',
    default: false,
    describe:
      'Compare the whole content (every row) before the applications return: downtime then grows with the data. By default ' +
      'the applications return once every relation and its size are found equal, and the content is compared while they start',
  },
  rollback: {
    type: 'boolean',
    default: false,
    describe:
      'Return to the old major: the directories while the new server never started, else the snapshot; after --method dump, the Service back to the old instance',
  },
  rehearse: {
    type: 'boolean',
    default: false,
    describe:
      'Run the whole upgrade on a snapshot clone of the live volume, production untouched: the same Job, the data compared, the downtime measured; a failed rehearsal holds back the upgrade to that major',
  },
  'keep-snapshot': {
    type: 'boolean',
    default: false,
    describe: "With --rehearse: keep the rehearsal's snapshot",
  },
} satisfies Record<string, Options>;

/** Flags of `--method dump` only. */
export const DUMP_FLAGS = {
  target: {
    type: 'string',
    describe:
      '--method dump: load into this existing, empty instance (deploy/<name>, sts/<name>, svc/<name> or a bare name) ' +
      "in the namespace: PostgreSQL --to, one Ready replica, reached with its own Secret (--superuser-secret is the source's only); never created, reset or stopped " +
      "by the plugin; the source's own server is refused",
  },
  'target-image': {
    type: 'string',
    describe: "--method dump: the new instance's image (default: the source's repository at --to)",
  },
  'storage-class': {
    type: 'string',
    describe: "--method dump: the new PVC's StorageClass (default: the source PVC's)",
  },
  size: { type: 'string', describe: "--method dump: the new PVC's size (default: the source PVC's)" },
  cutover: {
    type: 'boolean',
    default: true,
    describe: '--method dump: --no-cutover leaves the Service alone and prints the patch',
  },
} satisfies Record<string, Options>;

/** The timeout, the superuser Secret and the output format. */
export const COMMON_FLAGS = {
  timeout: { type: 'number', default: 900, describe: 'Seconds to wait for each step' },
  'superuser-secret': SUPERUSER_SECRET_FLAG,
  output: {
    alias: 'o',
    choices: OUTPUT_CHOICES,
    default: 'text' as OutputFormat,
    describe: 'Output format of the final report',
  },
} satisfies Record<string, Options>;
