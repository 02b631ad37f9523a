import type { Container } from '../k8s/pod-spec.ts';
import { imageUid } from './layout.ts';
import { flavourOf, type Flavour } from './workload.ts';

/**
 * How a new instance of the dump method lays out its data, in its image's family: it starts from an empty volume,
 * so it takes the family's own layout whatever the source's was. The official image: UID 999 (70 on Alpine),
 * PGDATA in a directory of the volume (`/var/lib/postgresql/data/pgdata` up to 17; from 18 the image's own
 * `/var/lib/postgresql/<M>/docker` with the claim at /var/lib/postgresql), POSTGRES_USER and POSTGRES_PASSWORD.
 * Bitnami's: UID 1001, the claim at /bitnami/postgresql, the superuser always `postgres` with POSTGRESQL_PASSWORD.
 */
export interface TargetLayout {
  family: 'official' | 'bitnami';
  uid: number;
  gid: number;
  mountPath: string;
  pgdata: string;
  /** The superuser the new instance's initdb makes: the official image takes POSTGRES_USER; Bitnami's is `postgres`. */
  superuser: string;
  /** The database container's environment for the family: the superuser, its password from the Secret, PGDATA. */
  env: NonNullable<Container['env']>;
  /** pg_isready, as the family's charts probe it. */
  probeCommand: string[];
}

/** The superuser's name and the Secret key that holds its password (an inline password must be put in a Secret first). */
export interface TargetSuperuser {
  user: string;
  secret: { name: string; key: string };
}

/**
 * The family of the target image: the official or Bitnami repository by name; a vendor's image (CircleCI's
 * Bitnami-shaped one) is taken to keep the source's layout, and an unknown source's is taken as official.
 */
export function targetFamily(targetImage: string, sourceFlavour: Flavour): TargetLayout['family'] {
  const byName = flavourOf(targetImage);
  if (byName !== 'vendor') return byName;
  return sourceFlavour === 'bitnami' ? 'bitnami' : 'official';
}

/**
 * The layout of a new instance of `major` on `image`, for the superuser of the source. The entrypoints create
 * nothing beside initdb's own: POSTGRES_DB (which defaults to POSTGRES_USER, so `admin` would get a database
 * `admin`), Bitnami's POSTGRESQL_DATABASE and POSTGRESQL_USERNAME are `postgres`, which they skip, also where the
 * source's envFrom says otherwise: anything more would make the target non-empty, and the load refuses that (the
 * source's own such database comes over with the dump). `md5Logins`: roles with md5 hashes come over (pg_hba's md5 accepts SCRAM too); the official
 * entrypoint writes `scram-sha-256` into pg_hba from 14, where they could no longer log in over the network.
 * `initdbArgs`: the source's default encoding and locale (rules.ts localeOptions), for the family's INITDB_ARGS
 * variable: the dump recreates each database with its own locale, but template1 and postgres are initdb's, and
 * each family's image has its own default (the official Debian images en_US.utf8, Bitnami's en_US.UTF-8 or C).
 */
export function targetLayoutFor(
  image: string,
  sourceFlavour: Flavour,
  major: number,
  su: TargetSuperuser,
  md5Logins = false,
  initdbArgs: string[] = [],
): TargetLayout {
  const family = targetFamily(image, sourceFlavour);
  const password = { valueFrom: { secretKeyRef: { name: su.secret.name, key: su.secret.key } } };
  const initdb = (name: string) => (initdbArgs.length ? [{ name, value: initdbArgs.join(' ') }] : []);
  if (family === 'bitnami') {
    return {
      family,
      uid: 1001,
      gid: 1001,
      mountPath: '/bitnami/postgresql',
      pgdata: '/bitnami/postgresql/data',
      superuser: 'postgres',
      env: [
        { name: 'POSTGRESQL_USERNAME', value: 'postgres' },
        { name: 'POSTGRESQL_PASSWORD', ...password },
        { name: 'POSTGRESQL_DATABASE', value: 'postgres' },
        { name: 'POSTGRESQL_DATA_DIR', value: '/bitnami/postgresql/data' },
        ...initdb('POSTGRESQL_INITDB_ARGS'),
      ],
      probeCommand: ['pg_isready', '-U', 'postgres', '-h', '127.0.0.1', '-p', '5432'],
    };
  }
  const uid = imageUid('official', image);
  const [mountPath, pgdata] =
    major >= 18
      ? ['/var/lib/postgresql', `/var/lib/postgresql/${major}/docker`]
      : ['/var/lib/postgresql/data', '/var/lib/postgresql/data/pgdata'];
  return {
    family,
    uid,
    gid: uid,
    mountPath,
    pgdata,
    superuser: su.user,
    env: [
      { name: 'POSTGRES_USER', value: su.user },
      { name: 'POSTGRES_PASSWORD', ...password },
      { name: 'POSTGRES_DB', value: 'postgres' },
      { name: 'PGDATA', value: pgdata },
      ...(md5Logins ? [{ name: 'POSTGRES_HOST_AUTH_METHOD', value: 'md5' }] : []),
      ...initdb('POSTGRES_INITDB_ARGS'),
    ],
    probeCommand: ['pg_isready', '-U', su.user, '-h', '127.0.0.1', '-p', '5432'],
  };
}

/** Whether the source's layout is the target's family (a source of no known layout counts as official). */
export function isSameFamily(sourceFlavour: Flavour, family: TargetLayout['family']): boolean {
  return (sourceFlavour === 'bitnami') === (family === 'bitnami');
}

// What says where the data is, who the superuser is, and what initdb makes beside it (a database or user of the
// chart's would make the target non-empty, and the load refuses that): the layout decides; the source's would
// contradict it. Settings (Bitnami's POSTGRESQL_MAX_CONNECTIONS, the official POSTGRES_INITDB_ARGS) stay.
const LAYOUT_VARS =
  /^(PGDATA|POSTGRES(QL)?_(USER|USERNAME|PASSWORD|POSTGRES_PASSWORD|DB|DATABASE|DATA_DIR|INITDB_WALDIR|REPLICATION_[A-Z_]+)(_FILE)?)$/;

/**
 * The new instance's environment: in the same family, the source's own entries (time zone, initdb arguments,
 * settings) without those that the layout decides, then the layout's; in another family, the layout's only, as
 * the source's variables mean nothing to the other image.
 */
export function targetEnv(
  source: Container,
  sourceFlavour: Flavour,
  layout: TargetLayout,
): NonNullable<Container['env']> {
  const set = new Set(layout.env.map((e) => e.name));
  const same = isSameFamily(sourceFlavour, layout.family);
  const kept = same ? (source.env ?? []).filter((e) => !LAYOUT_VARS.test(e.name) && !set.has(e.name)) : [];
  // The source's own initdb arguments (--data-checksums…) stay, the layout's locale after them: initdb takes the last.
  const own = (name: string) =>
    same ? source.env?.find((e) => e.name === name && e.value !== undefined)?.value : undefined;
  return [
    ...kept,
    ...layout.env.map((e) =>
      /INITDB_ARGS$/.test(e.name) && own(e.name) ? { ...e, value: `${own(e.name)} ${e.value}` } : e,
    ),
  ];
}
