import type { Container } from '../k8s/pod-spec.ts';
import type { Workload } from '../k8s/cluster.ts';
import {
  databaseContainer,
  dataMountOf,
  flavourOf,
  mountsAt,
  OFFICIAL_DATA_DIR,
  pgdataOf,
  tagMajor,
} from './workload.ts';

/** Programs that start the PostgreSQL server, or hand over to it, when a container runs them. */
const SERVER_PROGRAMS = new Set([
  'postgres',
  'postmaster',
  'docker-entrypoint.sh',
  'entrypoint.sh',
  'run.sh',
  'pg_ctl',
  'pg_ctlcluster',
]);
/** Entrypoints that start the server for no arguments, for an option, or for the server's own program, else run the arguments. */
const ENTRYPOINTS = new Set(['docker-entrypoint.sh', 'entrypoint.sh']);
const SHELLS = new Set(['sh', 'bash', 'ash', 'dash', 'zsh']);
/** Init processes that run the command after their options (`tini -- …`), and those that first take a user (`gosu postgres …`). */
const INITS = new Set(['tini', 'dumb-init', 'catatonit', 'nohup', 'env']);
const USER_SWITCHERS = new Set(['gosu', 'su-exec', 'chpst']);
const NOT_THE_COMMAND = new Set([
  'exec',
  'then',
  'do',
  'else',
  'elif',
  'if',
  'while',
  'until',
  'time',
  '!',
  '{',
  '--',
  ...INITS,
]);
const NOT_A_PROGRAM = new Set(['done', 'fi', 'esac', '}']);
/** Shell builtins that say nothing of what a script is for, left out when naming what it runs. */
const TRIVIAL = new Set(['true', 'false', ':', 'set', 'echo', 'export', 'cd', 'test', '[', 'trap', 'shift']);

const base = (word: string) => word.split('/').pop() ?? word;
const shown = (argv: string[]) => JSON.stringify(argv.join(' ').slice(0, 80));

/** The programs a shell script runs: the first word of each command, past `exec`, `nohup` and `X=y` assignments. */
export function scriptPrograms(script: string): string[] {
  return script
    .split(/[;&|\n()`]+|\$\(/)
    .map((part) => {
      const words = part
        .trim()
        .split(/\s+/)
        .filter((w) => w !== '' && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
      return base(words.find((w) => !NOT_THE_COMMAND.has(w)) ?? '');
    })
    .filter((w) => w !== '' && !NOT_A_PROGRAM.has(w));
}

/** Does running `argv` as the container's whole command line start the server? */
function startsServer(argv: string[]): boolean {
  const [first, ...rest] = argv;
  if (first === undefined) return true;
  const program = base(first);
  if (SHELLS.has(program)) {
    const c = rest.findIndex((a) => /^-\w*c\w*$/.test(a));
    if (c >= 0) return scriptPrograms(rest[c + 1] ?? '').some((p) => SERVER_PROGRAMS.has(p));
    // `bash /usr/local/bin/docker-entrypoint.sh postgres`: the script named is the program.
    const script = rest.filter((a) => !a.startsWith('-'));
    return script.length > 0 && startsServer(script);
  }
  if (INITS.has(program))
    return startsServer(rest.filter((a) => !a.startsWith('-') && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)));
  if (USER_SWITCHERS.has(program)) return startsServer(rest.slice(1));
  if (ENTRYPOINTS.has(program)) return startsServer(rest.length && !rest[0]?.startsWith('-') ? rest : []);
  return SERVER_PROGRAMS.has(program) || first.startsWith('-');
}

/** The variables with which the images' entrypoints set up a server's superuser (official and Bitnami). */
const SERVER_INIT_ENV = /^(POSTGRES(QL)?_(POSTGRES_)?PASSWORD(_FILE)?|POSTGRES_HOST_AUTH_METHOD|ALLOW_EMPTY_PASSWORD)$/;

/**
 * Why a container on a PostgreSQL image is a client and not the database server, or undefined when it looks like
 * a server: its command or arguments run another program than the server (pg_dump, psql, a `sleep` loop), or it
 * has nothing a server keeps or is given: no data volume at PGDATA, no PGDATA, no superuser password, no port.
 */
export function clientReason(c: Container): string | undefined {
  const argv = c.command?.length ? [...c.command, ...(c.args ?? [])] : (c.args ?? []);
  if (argv.length && !startsServer(c.command?.length ? argv : ['docker-entrypoint.sh', ...argv])) {
    const programs = SHELLS.has(base(argv[0] ?? ''))
      ? scriptPrograms(argv.at(-1) ?? '').filter((p) => !SHELLS.has(p) && !TRIVIAL.has(p))
      : [base(argv[0] ?? '')];
    return `its ${c.command?.length ? 'command' : 'args'} ${shown(argv)} run${programs.length ? `s ${[...new Set(programs)].slice(0, 3).join(', ')}` : ''} instead of the server`;
  }
  const image = c.image ?? '';
  const hasPgdata = (c.env ?? []).some((e) => e.name === 'PGDATA' || e.name === 'POSTGRESQL_DATA_DIR');
  // A volume at the official image's path up to 17 counts too: an 18 image moved onto it refuses to start, but it
  // is the database (docker-library/postgres#1370).
  const hasVolume =
    dataMountOf(c, pgdataOf(c, flavourOf(image), tagMajor(image))) !== undefined || mountsAt(c, OFFICIAL_DATA_DIR);
  // The superuser's password (or trust) for initdb is what a server is given; a client is given PGPASSWORD. A server
  // without a volume keeps its data in its container's writable layer (the dump method's case), but it is a server.
  const initsServer = (c.env ?? []).some((e) => SERVER_INIT_ENV.test(e.name));
  if (!hasPgdata && !hasVolume && !initsServer && !(c.ports ?? []).length)
    return 'it mounts no data volume, and sets no PGDATA, no superuser password and no port';
  return undefined;
}

/** Why a workload that runs a PostgreSQL image is a client, or undefined when its database container looks like a server. */
export function workloadClientReason(w: Workload): string | undefined {
  return clientReason(databaseContainer(w));
}
