import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureHostPackages, fetchDebs, patchPrefix, type Suite } from '../apt.ts';

/** The majors Debian's archives carry that run here (test-environment.md §1). */
export type DebianMajor = 13 | 15 | 17 | 18;

interface Recipe {
  suites: Suite[];
  packages: string[];
  ownLoader: boolean;
}

// The package sets verified on this machine kind (test-environment.md §1). 17 and 18 bring their own libc and
// loader; 13 runs on the machine's libc with bullseye's older libraries beside it.
const RECIPES: Record<DebianMajor, Recipe> = {
  13: {
    suites: [{ suite: 'bullseye' }, { suite: 'bullseye-security' }],
    packages: ['postgresql-13', 'postgresql-client-13', 'libssl1.1', 'libldap-2.4-2', 'libicu67'],
    ownLoader: false,
  },
  15: {
    suites: [{ suite: 'bookworm' }, { suite: 'bookworm-security' }],
    packages: ['postgresql-15', 'postgresql-client-15'],
    ownLoader: false,
  },
  17: {
    suites: [{ suite: 'trixie' }, { suite: 'trixie-security' }],
    packages: [
      'postgresql-17',
      'postgresql-client-17',
      'libpq5',
      'libssl3t64',
      'libc6',
      'libldap2',
      'libzstd1',
      'libicu76',
      'libstdc++6',
      'libgcc-s1',
      'liblz4-1',
    ],
    ownLoader: true,
  },
  18: {
    suites: [{ suite: 'sid' }],
    packages: [
      'postgresql-18',
      'postgresql-client-18',
      'libpq5',
      'libssl3t64',
      'libc6',
      'libldap2',
      'libzstd1',
      'libicu78',
      'libstdc++6',
      'libgcc-s1',
      'liblz4-1',
      'libxml2-16',
      'libnuma1',
      'liburing2',
      'libsasl2-2',
    ],
    ownLoader: true,
  },
};

/** Is this major one that Debian's archives carry? */
export function isDebianMajor(major: number): major is DebianMajor {
  return major in RECIPES;
}

/**
 * Full server and client binaries of one major (contrib included: Debian ships hstore, pgcrypto, amcheck and
 * pg_stat_statements in the server package), fetched from Debian's archives into `prefix` and patched to run
 * here, at prefix/usr/lib/postgresql/<M> and prefix/usr/share/postgresql/<M>.
 */
export async function fetchDebian(major: DebianMajor, prefix: string): Promise<void> {
  const recipe = RECIPES[major];
  await ensureHostPackages({ patchelf: 'patchelf', 'dpkg-deb': 'dpkg' });
  await fetchDebs({ name: `pg${major}`, suites: recipe.suites, packages: recipe.packages, dest: prefix });
  const libs = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu']
    .map((d) => path.join(prefix, d))
    .filter((d) => fs.existsSync(d));
  const libDir = path.join(prefix, 'usr', 'lib', 'postgresql', String(major));
  const loader = recipe.ownLoader ? findLoader(prefix) : undefined;
  await patchPrefix([path.join(libDir, 'bin')], libs, loader);
  await patchPrefix([path.join(libDir, 'lib'), ...libs], libs);
}

function findLoader(prefix: string): string {
  for (const d of ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'lib64', 'usr/lib64']) {
    const f = path.join(prefix, d, 'ld-linux-x86-64.so.2');
    if (fs.existsSync(f)) return fs.realpathSync(f);
  }
  throw new Error(`no ld-linux-x86-64.so.2 under ${prefix}: the libc6 package did not unpack as expected`);
}
