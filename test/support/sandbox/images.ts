import { currentImageMap, matchImage, splitRef, type ImageMapEntry, type Layout } from './image-map.ts';

/** How an image lays out PostgreSQL, and how its container starts. */
export interface ImageSpec {
  ref: string;
  /** The layout that its entry of the image table names (images.yaml, PGUPGRADE_TEST_IMAGE_MAP). */
  layout: Layout;
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

/** A reference's registry (none for Docker Hub), repository without `library/`, and tag (digests are ignored). */
export { splitRef };

/** The PostgreSQL majors a layout's image carries, from its tag; undefined when the tag names none it could. */
function tagMajors(layout: Layout, tag: string): number[] | undefined {
  if (layout === 'shell' || layout === 'idle') return [];
  if (layout === 'upgrade') {
    // Tianon publishes OLD-to-NEW up to five majors apart; any other tag does not exist, and fails as a pull would.
    const m = /^(\d+)-to-(\d+)$/.exec(tag);
    const [from, to] = [Number(m?.[1]), Number(m?.[2])];
    return m && to > from && to - from <= 5 ? [from, to] : undefined;
  }
  const major = Number(/^(\d+)/.exec(tag)?.[1]);
  return major ? [major] : undefined;
}

/**
 * The image the test node agent runs for a reference, or undefined when no entry of its table matches (the pod's
 * container then fails as an image pull would). The table is data (images.yaml, and the file that
 * PGUPGRADE_TEST_IMAGE_MAP names); what each layout is, is here.
 */
export function parseImage(ref: string, table: ImageMapEntry[] = currentImageMap()): ImageSpec | undefined {
  const entry = matchImage(ref, table);
  const majors = entry && tagMajors(entry.layout, splitRef(ref).tag);
  return entry && majors ? LAYOUT_SPECS[entry.layout](ref, majors) : undefined;
}

/**
 * The official images' PGDATA: /var/lib/postgresql/data up to 17; from 18 the pg_ctlcluster layout
 * /var/lib/postgresql/<major>/docker, with the image's VOLUME at /var/lib/postgresql (docker-library/postgres#1259).
 */
const officialPgdata = (major: number) =>
  major >= 18 ? `/var/lib/postgresql/${major}/docker` : '/var/lib/postgresql/data';

type Build = (ref: string, majors: number[]) => ImageSpec;
const shell = (
  ref: string,
  entrypoint: string[],
  cmd: string[],
  flavour: ImageSpec['flavour'] = 'shell',
): ImageSpec => ({
  ref,
  layout: 'shell',
  flavour,
  majors: [],
  user: 0,
  ...ROOT,
  entrypoint,
  cmd,
  workingDir: '/',
  stopSignal: 'SIGTERM',
  env: { PATH: BASE_PATH },
});

const LAYOUT_SPECS: Record<Layout, Build> = {
  official: (ref, [major]) => ({
    ref,
    layout: 'official',
    flavour: 'postgres',
    majors: [major as number],
    user: 0,
    ...POSTGRES_USER,
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['postgres'],
    workingDir: '/',
    stopSignal: 'SIGINT',
    env: {
      PATH: `/usr/lib/postgresql/${major}/bin:${BASE_PATH}`,
      PG_MAJOR: String(major),
      PGDATA: officialPgdata(major as number),
      LANG: 'en_US.utf8',
    },
  }),
  // The alpine images: postgres is UID 70, the binaries sit in /usr/local/bin (links into the major's tree here).
  alpine: (ref, [major]) => ({
    ref,
    layout: 'alpine',
    flavour: 'postgres',
    majors: [major as number],
    user: 0,
    passwd: [...ROOT.passwd, 'postgres:x:70:70::/var/lib/postgresql:/bin/sh'],
    group: [...ROOT.group, 'postgres:x:70:'],
    entrypoint: ['docker-entrypoint.sh'],
    cmd: ['postgres'],
    workingDir: '/',
    stopSignal: 'SIGINT',
    env: { PATH: BASE_PATH, PG_MAJOR: String(major), PGDATA: officialPgdata(major as number), LANG: 'en_US.utf8' },
  }),
  bitnami: (ref, [major]) => ({
    ref,
    layout: 'bitnami',
    flavour: 'bitnami',
    majors: [major as number],
    user: 1001,
    ...ROOT,
    entrypoint: ['/opt/bitnami/scripts/postgresql/entrypoint.sh'],
    cmd: ['/opt/bitnami/scripts/postgresql/run.sh'],
    workingDir: '/',
    stopSignal: 'SIGTERM',
    env: {
      PATH: `/opt/bitnami/postgresql/bin:${BASE_PATH}`,
      HOME: '/',
      POSTGRESQL_BASE_DIR: '/opt/bitnami/postgresql',
      POSTGRESQL_VOLUME_DIR: '/bitnami/postgresql',
      NSS_WRAPPER_LIB: '/usr/lib/x86_64-linux-gnu/libnss_wrapper.so',
    },
  }),
  upgrade: (ref, [from, to]) => ({
    ref,
    layout: 'upgrade',
    flavour: 'upgrade',
    majors: [from as number, to as number],
    user: 0,
    ...POSTGRES_USER,
    entrypoint: ['docker-upgrade'],
    cmd: ['pg_upgrade'],
    workingDir: '/var/lib/postgresql',
    stopSignal: 'SIGINT',
    env: {
      PATH: `/usr/lib/postgresql/${to}/bin:${BASE_PATH}`,
      PGBINOLD: `/usr/lib/postgresql/${from}/bin`,
      PGBINNEW: `/usr/lib/postgresql/${to}/bin`,
      PGDATAOLD: `/var/lib/postgresql/${from}/data`,
      PGDATANEW: `/var/lib/postgresql/${to}/data`,
      LANG: 'en_US.utf8',
    },
  }),
  // A shell with psql of one major first on PATH (the real image has only the client).
  client: (ref, [major]) => ({
    ...shell(ref, ['psql'], []),
    layout: 'client',
    majors: [major as number],
    env: { PATH: `/usr/lib/postgresql/${major}/bin:${BASE_PATH}` },
  }),
  shell: (ref) => shell(ref, [], ['sh']),
  // A sidecar (an exporter, a proxy) whose program is not reproduced: it idles whatever its command.
  idle: (ref) => ({ ...shell(ref, ['sleep', 'infinity'], []), layout: 'idle' }),
};
