/** How an image lays out PostgreSQL, and how its container starts. */
export interface ImageSpec {
  ref: string;
  flavour: 'postgres' | 'bitnami' | 'upgrade' | 'shell';
  /** The PostgreSQL majors whose binaries the image carries, at /usr/lib/postgresql/<M>/bin. */
  majors: number[];
  /** The image's USER: what the container runs as when the pod sets no runAsUser. */
  user: number;
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  workingDir: string;
  /** Docker's STOPSIGNAL; the kubelet sends it on pod deletion (postgres images use SIGINT, a fast shutdown). */
  stopSignal: NodeJS.Signals;
  /** /etc/passwd lines of the image; other UIDs have no entry, as in the real images. */
  passwd: string[];
  group: string[];
}

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ROOT = { passwd: ['root:x:0:0:root:/root:/bin/bash'], group: ['root:x:0:'] };
const POSTGRES_USER = {
  passwd: [...ROOT.passwd, 'postgres:x:999:999::/var/lib/postgresql:/bin/bash'],
  group: [...ROOT.group, 'postgres:x:999:'],
};

/** Strips a registry and `library/`, splitting repository and tag (digests are ignored). */
export function splitRef(ref: string): { repo: string; tag: string } {
  let r = ref.split('@')[0] as string;
  const first = r.split('/')[0] as string;
  if (r.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) r = r.slice(first.length + 1);
  if (r.startsWith('library/')) r = r.slice('library/'.length);
  const colon = r.lastIndexOf(':');
  return colon > 0 ? { repo: r.slice(0, colon), tag: r.slice(colon + 1) } : { repo: r, tag: 'latest' };
}

/**
 * The images the test node agent can run, or undefined for any other (the pod then fails as an image pull
 * error would). Tags name the major: `postgres:13`, `postgres:13.22-bookworm`, `bitnami/postgresql:13.16.0-debian-12-r0`,
 * `tianon/postgres-upgrade:13-to-15`.
 */
export function parseImage(ref: string): ImageSpec | undefined {
  const { repo, tag } = splitRef(ref);
  const major = Number(/^(\d+)/.exec(tag)?.[1]);
  if (repo === 'postgres' && major) {
    return {
      ref, flavour: 'postgres', majors: [major], user: 0, ...POSTGRES_USER,
      entrypoint: ['docker-entrypoint.sh'], cmd: ['postgres'], workingDir: '/', stopSignal: 'SIGINT',
      env: { PATH: `/usr/lib/postgresql/${major}/bin:${BASE_PATH}`, PG_MAJOR: String(major), PGDATA: '/var/lib/postgresql/data', LANG: 'en_US.utf8' },
    };
  }
  // Since August 2025 Bitnami publishes no bitnami/postgresql:<major> tags (docker.io answers NotFound), and what
  // moved to bitnamilegacy/ are its version tags: a bare-major tag fails as that pull would.
  if ((repo === 'bitnami/postgresql' || repo === 'bitnamilegacy/postgresql') && !/^\d+\.\d+\.\d+/.test(tag)) return undefined;
  // CircleCI Server's own image (circleci-pg-upgrade.md) is built on Bitnami's: its layout, UID 1001 and scripts.
  if ((repo === 'bitnami/postgresql' || repo === 'bitnamilegacy/postgresql' || repo === 'circleci/server-postgres') && major) {
    return {
      ref, flavour: 'bitnami', majors: [major], user: 1001, ...ROOT,
      entrypoint: ['/opt/bitnami/scripts/postgresql/entrypoint.sh'], cmd: ['/opt/bitnami/scripts/postgresql/run.sh'],
      workingDir: '/', stopSignal: 'SIGTERM',
      env: { PATH: `/opt/bitnami/postgresql/bin:${BASE_PATH}`, HOME: '/', POSTGRESQL_BASE_DIR: '/opt/bitnami/postgresql',
        POSTGRESQL_VOLUME_DIR: '/bitnami/postgresql', NSS_WRAPPER_LIB: '/usr/lib/x86_64-linux-gnu/libnss_wrapper.so' },
    };
  }
  const upgrade = /^(\d+)-to-(\d+)$/.exec(tag);
  // Tianon publishes OLD-to-NEW up to five majors apart; any other tag does not exist, and fails as a pull would.
  if (repo === 'tianon/postgres-upgrade' && upgrade && Number(upgrade[2]) - Number(upgrade[1]) <= 5 && Number(upgrade[2]) > Number(upgrade[1])) {
    const [from, to] = [Number(upgrade[1]), Number(upgrade[2])];
    return {
      ref, flavour: 'upgrade', majors: [from, to], user: 0, ...POSTGRES_USER,
      entrypoint: ['docker-upgrade'], cmd: ['pg_upgrade'], workingDir: '/var/lib/postgresql', stopSignal: 'SIGINT',
      env: {
        PATH: `/usr/lib/postgresql/${to}/bin:${BASE_PATH}`, PGBINOLD: `/usr/lib/postgresql/${from}/bin`, PGBINNEW: `/usr/lib/postgresql/${to}/bin`,
        PGDATAOLD: `/var/lib/postgresql/${from}/data`, PGDATANEW: `/var/lib/postgresql/${to}/data`, LANG: 'en_US.utf8',
      },
    };
  }
  // A client image: a shell with psql of one major first on PATH, as application images that talk to a database
  // carry it. It is no PostgreSQL server image, so the plugin must not take it for the database.
  if (repo === 'alpine/psql' && major) {
    return { ref, flavour: 'shell', majors: [major], user: 0, ...ROOT, entrypoint: ['psql'], cmd: [], workingDir: '/', stopSignal: 'SIGTERM',
      env: { PATH: `/usr/lib/postgresql/${major}/bin:${BASE_PATH}` } };
  }
  if (['busybox', 'bash', 'debian', 'ubuntu', 'alpine'].includes(repo)) {
    return { ref, flavour: 'shell', majors: [], user: 0, ...ROOT, entrypoint: [], cmd: ['sh'], workingDir: '/', stopSignal: 'SIGTERM',
      env: { PATH: BASE_PATH } };
  }
  return undefined;
}
