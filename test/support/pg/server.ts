import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ensureSandboxHost,
  execInSandbox,
  startSandbox,
  type SandboxProcess,
  type SandboxSpec,
} from '../sandbox/bwrap.ts';
import { parseImage } from '../sandbox/images.ts';
import { freePort, waitFor } from '../process.ts';
import { stateDir } from '../paths.ts';
import { ensurePostgres, type Major } from './fetch.ts';
import type { SqlRunner } from './fingerprint.ts';

/** The Bitnami layout: the PVC at /bitnami/postgresql, data at /bitnami/postgresql/data, UID 1001. */
export const BITNAMI = {
  mount: '/bitnami/postgresql',
  data: '/bitnami/postgresql/data',
  uid: 1001,
  gid: 1001,
} as const;

/** The superuser password of the test clusters (test data only). */
export const TEST_SUPERUSER_PASSWORD = 'superuser-test-pass-7d3b';

const NSS = '/nss-wrapper';

/** A host directory standing in for a PVC, owned by the Bitnami UID, as the chart's fsGroup leaves it. */
export function makeVolume(label: string): string {
  fs.mkdirSync(stateDir(), { recursive: true });
  const dir = fs.mkdtempSync(path.join(stateDir(), `vol-${label}-`));
  fs.chownSync(dir, BITNAMI.uid, BITNAMI.gid);
  fs.chmodSync(dir, 0o775);
  return dir;
}

/**
 * A container spec on the Bitnami paths, for the given majors, run as UID 1001. That UID has no passwd entry in
 * the images, so it gets one through nss_wrapper, exactly as the plugin's upgrade Job must.
 */
export async function bitnamiSpec(
  majors: Major[],
  volume: string,
  command: string[],
  env: Record<string, string> = {},
): Promise<SandboxSpec> {
  const ref = majors.length === 2 ? `tianon/postgres-upgrade:${majors[0]}-to-${majors[1]}` : `postgres:${majors[0]}`;
  const image = parseImage(ref)!;
  await ensureSandboxHost();
  const installs = await Promise.all(majors.map((m) => ensurePostgres(m)));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'pgbox-'));
  fs.mkdirSync(path.join(scratch, 'nss'));
  fs.writeFileSync(
    path.join(scratch, 'nss', 'passwd'),
    `postgres:x:${BITNAMI.uid}:${BITNAMI.gid}:postgres:${BITNAMI.mount}:/bin/sh\n`,
  );
  fs.writeFileSync(path.join(scratch, 'nss', 'group'), `postgres:x:${BITNAMI.gid}:\n`);
  const last = majors[majors.length - 1] as Major;
  return {
    image,
    installs,
    command,
    uid: BITNAMI.uid,
    gid: BITNAMI.gid,
    scratchDir: scratch,
    cwd: BITNAMI.mount,
    mounts: [
      { hostPath: volume, mountPath: BITNAMI.mount },
      { hostPath: path.join(scratch, 'nss'), mountPath: NSS, readOnly: true },
    ],
    env: {
      PATH: `/usr/lib/postgresql/${last}/bin:/usr/bin:/bin`,
      LANG: 'C.UTF-8',
      HOME: BITNAMI.mount,
      LD_PRELOAD: '/usr/lib/x86_64-linux-gnu/libnss_wrapper.so',
      NSS_WRAPPER_PASSWD: `${NSS}/passwd`,
      NSS_WRAPPER_GROUP: `${NSS}/group`,
      ...env,
    },
  };
}

/**
 * Runs one command on the Bitnami paths and fails with its output when it exits non-zero. The command runs
 * under a shell that stays PID 1, as a Job's `bash -c` does: pg_upgrade --jobs as PID 1 itself reaps the
 * postmasters that pg_ctl orphans, and then reports "Upgrade Complete" over empty tables (seen here).
 */
export async function runOn(
  majors: Major[],
  volume: string,
  command: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<string> {
  const spec = await bitnamiSpec(majors, volume, ['bash', '-c', '"$@"; exit $?', 'bash', ...command], env);
  try {
    const r = await execInSandbox(spec, input);
    if (r.code !== 0) throw new Error(`${command.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  } finally {
    fs.rmSync(spec.scratchDir, { recursive: true, force: true });
  }
}

/** initdb of a fresh cluster at `data` (a path inside the container), password auth over TCP. */
export async function initCluster(
  major: Major,
  volume: string,
  opts: { data?: string; checksums?: boolean; extra?: string[] } = {},
): Promise<void> {
  const pw = path.join(volume, '.pwfile');
  fs.writeFileSync(pw, `${TEST_SUPERUSER_PASSWORD}\n`, { mode: 0o600 });
  fs.chownSync(pw, BITNAMI.uid, BITNAMI.gid);
  const checksums = opts.checksums ? ['--data-checksums'] : major >= 18 ? ['--no-data-checksums'] : [];
  await runOn([major], volume, [
    `/usr/lib/postgresql/${major}/bin/initdb`,
    '-D',
    opts.data ?? BITNAMI.data,
    '-U',
    'postgres',
    `--pwfile=${BITNAMI.mount}/.pwfile`,
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    ...checksums,
    ...(opts.extra ?? []),
  ]);
  fs.rmSync(pw);
  writeHba(path.join(volume, path.relative(BITNAMI.mount, opts.data ?? BITNAMI.data)));
}

/** pg_hba for the tests: the SCRAM role must use SCRAM; md5 (which also accepts SCRAM hashes) for the rest. */
export function writeHba(hostDataDir: string): void {
  const file = path.join(hostDataDir, 'pg_hba.conf');
  fs.writeFileSync(
    file,
    ['local all all trust', 'host all app_scram 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 md5', ''].join(
      '\n',
    ),
  );
  fs.chownSync(file, BITNAMI.uid, BITNAMI.gid);
}

/** A running sandboxed server on 127.0.0.1. */
export interface PgServer {
  major: Major;
  port: number;
  sql: SqlRunner;
  /**
   * psql as any role over TCP; the password goes through the environment, never the command line, and so does the
   * database name (psql would read a -d value holding `=` as a connection string).
   */
  psql(
    db: string,
    user: string,
    password: string,
    sqlText: string,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** Starts `major` on the cluster at `data` on the volume, listening on a free port of 127.0.0.1. */
export async function startServer(major: Major, volume: string, data: string = BITNAMI.data): Promise<PgServer> {
  const port = await freePort();
  const spec = await bitnamiSpec([major], volume, [
    `/usr/lib/postgresql/${major}/bin/postgres`,
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=/tmp',
    '-c',
    'fsync=off',
  ]);
  const proc: SandboxProcess = startSandbox(spec);
  let log = '';
  proc.stdout.on('data', (d: Buffer) => (log += d));
  proc.stderr.on('data', (d: Buffer) => (log += d));
  const psql = async (db: string, user: string, password: string, sqlText: string) => {
    const client = await bitnamiSpec(
      [major],
      volume,
      [
        'psql',
        '-X',
        '-q',
        '-A',
        '-t',
        '-F',
        '\t',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        user,
        '-f',
        '-',
      ],
      { PGPASSWORD: password, PGDATABASE: db, PGCONNECT_TIMEOUT: '5' },
    );
    try {
      return await execInSandbox(client, sqlText);
    } finally {
      fs.rmSync(client.scratchDir, { recursive: true, force: true });
    }
  };
  const sql: SqlRunner = async (db, text) => {
    const r = await psql(db, 'postgres', TEST_SUPERUSER_PASSWORD, text);
    if (r.code !== 0) throw new Error(`psql on ${db} (PostgreSQL ${major}) exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const stop = async () => {
    proc.signal('SIGINT');
    const timer = setTimeout(() => proc.signal('SIGKILL'), 20_000);
    await proc.exited;
    clearTimeout(timer);
    fs.rmSync(spec.scratchDir, { recursive: true, force: true });
  };
  const exitedEarly = proc.exited.then(() => true);
  await waitFor(
    `PostgreSQL ${major} to accept connections on ${port}`,
    async () => {
      if (await Promise.race([exitedEarly, Promise.resolve(false)])) throw new Error(`postgres exited:\n${log}`);
      return (await psql('postgres', 'postgres', TEST_SUPERUSER_PASSWORD, 'SELECT 1')).code === 0;
    },
    60_000,
  ).catch(async (err) => {
    await stop();
    throw new Error(`${(err as Error).message}\n--- server log ---\n${log}`);
  });
  return { major, port, sql, psql, stop };
}
