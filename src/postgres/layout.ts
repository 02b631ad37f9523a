import type { Container, PodSpec } from '../k8s/pod-spec.ts';
import { libcOf } from './libc.ts';
import { flavourOf, type Flavour } from './workload.ts';

/** The layout of the database's image, and what in the pod said so. */
export interface LayoutJudgement {
  flavour: Flavour;
  /** Why, as the report says it, e.g. `PGDATA /bitnami/postgresql/data is under /bitnami`. */
  evidence: string;
}

const BITNAMI_DATA = /^\/bitnami(\/|$)/;
const OFFICIAL_DATA = /^\/var\/lib\/postgresql(\/|$)/;
// Bitnami's scripts read POSTGRESQL_* (POSTGRESQL_DATA_DIR, POSTGRESQL_PORT_NUMBER…) and POSTGRES_POSTGRES_PASSWORD;
// the official entrypoint reads only POSTGRES_* and PG*.
const BITNAMI_ENV = /^(POSTGRESQL_|POSTGRES_POSTGRES_PASSWORD)/;

/**
 * Judges the image's layout from the pod, not from the repository's name: vendors ship Bitnami's layout and the
 * official one under names of their own (CircleCI's circleci/server-postgres, Devtron's quay.io/devtron/postgres).
 * In order: where the data lives (PGDATA, POSTGRESQL_DATA_DIR, else the mounts), Bitnami's environment, the UID the
 * pod runs as (Bitnami's 1001, the official 999 or the alpine images' 70), and only then the repository's name.
 */
export function judgeLayout(c: Container, pod: PodSpec | undefined): LayoutJudgement {
  const env = (name: string) => c.env?.find((e) => e.name === name)?.value;
  const dataEnv = [
    ['PGDATA', env('PGDATA')],
    ['POSTGRESQL_DATA_DIR', env('POSTGRESQL_DATA_DIR')],
  ].find(([, v]) => v) as [string, string] | undefined;
  if (dataEnv && BITNAMI_DATA.test(dataEnv[1]))
    return { flavour: 'bitnami', evidence: `${dataEnv[0]} ${dataEnv[1]} is under /bitnami` };
  if (dataEnv && OFFICIAL_DATA.test(dataEnv[1]))
    return { flavour: 'official', evidence: `${dataEnv[0]} ${dataEnv[1]} is under /var/lib/postgresql` };
  const mounts = (c.volumeMounts ?? []).map((m) => m.mountPath);
  const bitnamiMount = mounts.find((m) => BITNAMI_DATA.test(m));
  if (!dataEnv && bitnamiMount) return { flavour: 'bitnami', evidence: `a volume is mounted at ${bitnamiMount}` };
  const vars = (c.env ?? []).map((e) => e.name).filter((n) => BITNAMI_ENV.test(n));
  if (vars.length) return { flavour: 'bitnami', evidence: `Bitnami's variables ${vars.slice(0, 3).join(', ')}` };
  const uid = c.securityContext?.runAsUser ?? pod?.securityContext?.runAsUser;
  if (uid === 1001) return { flavour: 'bitnami', evidence: "it runs as UID 1001, Bitnami's" };
  if (uid === 999 || uid === 70)
    return { flavour: 'official', evidence: `it runs as UID ${uid}, the official image's postgres` };
  const officialMount = mounts.find((m) => OFFICIAL_DATA.test(m));
  if (!dataEnv && officialMount) return { flavour: 'official', evidence: `a volume is mounted at ${officialMount}` };
  const byName = flavourOf(c.image ?? '');
  return {
    flavour: byName,
    evidence: byName === 'vendor' ? 'nothing in the pod names a known layout' : `by the repository's name`,
  };
}

/** The UID of the postgres user in an image of this layout: Bitnami's 1001; the official image's 999, 70 on Alpine. */
export function imageUid(flavour: Flavour, image: string): number {
  if (flavour === 'bitnami') return 1001;
  return libcOf(image) === 'musl' ? 70 : 999;
}
