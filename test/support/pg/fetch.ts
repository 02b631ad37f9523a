import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureHostPackages, fetchDebs, patchPrefix, type Suite } from '../apt.ts';
import { exclusive } from '../lock.ts';
import { cacheDir } from '../paths.ts';

/** The PostgreSQL majors the tests use: what Debian's archives carry that runs here (see test-environment.md). */
export const MAJORS = [13, 15, 17, 18] as const;
export type Major = (typeof MAJORS)[number];

/** One installed major: where its files are on the host, to be bound at Debian's paths inside the sandbox. */
export interface PgInstall {
  major: Major;
  /** Host dir that holds bin/ and lib/; bound at /usr/lib/postgresql/<M>. */
  libDir: string;
  /** Host dir bound at /usr/share/postgresql/<M> (extensions, timezones). */
  shareDir: string;
  /** Host dirs that must be visible at their own path inside the sandbox (the RPATH targets). */
  ownPaths: string[];
}

interface Recipe {
  suites: Suite[];
  packages: string[];
  ownLoader: boolean;
}

// The package sets verified on this machine kind (test-environment.md §1). 17 and 18 bring their own libc and
// loader; 13 runs on the machine's libc with bullseye's older libraries beside it.
const RECIPES: Record<Major, Recipe> = {
  13: { suites: [{ suite: 'bullseye' }, { suite: 'bullseye-security' }], packages: ['postgresql-13', 'postgresql-client-13', 'libssl1.1', 'libldap-2.4-2', 'libicu67'], ownLoader: false },
  15: { suites: [{ suite: 'bookworm' }, { suite: 'bookworm-security' }], packages: ['postgresql-15', 'postgresql-client-15'], ownLoader: false },
  17: {
    suites: [{ suite: 'trixie' }, { suite: 'trixie-security' }],
    packages: ['postgresql-17', 'postgresql-client-17', 'libpq5', 'libssl3t64', 'libc6', 'libldap2', 'libzstd1', 'libicu76', 'libstdc++6', 'libgcc-s1', 'liblz4-1'],
    ownLoader: true,
  },
  18: {
    suites: [{ suite: 'sid' }],
    packages: ['postgresql-18', 'postgresql-client-18', 'libpq5', 'libssl3t64', 'libc6', 'libldap2', 'libzstd1', 'libicu78', 'libstdc++6',
      'libgcc-s1', 'liblz4-1', 'libxml2-16', 'libnuma1', 'liburing2', 'libsasl2-2'],
    ownLoader: true,
  },
};

function installOf(major: Major, prefix: string): PgInstall {
  return {
    major,
    libDir: path.join(prefix, 'usr', 'lib', 'postgresql', String(major)),
    shareDir: path.join(prefix, 'usr', 'share', 'postgresql', String(major)),
    ownPaths: prefix === '/' ? [] : [prefix],
  };
}

/**
 * Full server and client binaries of one major (contrib included: Debian ships hstore, pgcrypto, amcheck and
 * pg_stat_statements in the server package), fetched once from Debian's archives and patched to run here.
 * Major 15 is the machine's own when it is installed. A warm call only checks a marker file.
 */
export async function ensurePostgres(major: Major): Promise<PgInstall> {
  if (major === 15 && fs.existsSync('/usr/lib/postgresql/15/bin/pg_upgrade') && fs.existsSync('/usr/share/postgresql/15/extension/hstore.control')) {
    return installOf(15, '/');
  }
  const prefix = cacheDir('pg', String(major));
  const marker = path.join(prefix, '.complete');
  if (fs.existsSync(marker)) return installOf(major, prefix);
  // The agent starts several pods at once and each asks for its majors: one fetch per major at a time, machine-wide.
  return exclusive(`${prefix}.lock`, () => fetchPostgres(major, prefix));
}

async function fetchPostgres(major: Major, prefix: string): Promise<PgInstall> {
  const marker = path.join(prefix, '.complete');
  if (fs.existsSync(marker)) return installOf(major, prefix);
  const recipe = RECIPES[major];
  await ensureHostPackages({ patchelf: 'patchelf', 'dpkg-deb': 'dpkg' });
  fs.rmSync(prefix, { recursive: true, force: true });
  await fetchDebs({ name: `pg${major}`, suites: recipe.suites, packages: recipe.packages, dest: prefix });
  const libs = ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu'].map((d) => path.join(prefix, d)).filter((d) => fs.existsSync(d));
  const inst = installOf(major, prefix);
  const loader = recipe.ownLoader ? findLoader(prefix) : undefined;
  await patchPrefix([path.join(inst.libDir, 'bin')], libs, loader);
  await patchPrefix([path.join(inst.libDir, 'lib'), ...libs], libs);
  fs.writeFileSync(marker, new Date().toISOString());
  return inst;
}

function findLoader(prefix: string): string {
  for (const d of ['usr/lib/x86_64-linux-gnu', 'lib/x86_64-linux-gnu', 'lib64', 'usr/lib64']) {
    const f = path.join(prefix, d, 'ld-linux-x86-64.so.2');
    if (fs.existsSync(f)) return fs.realpathSync(f);
  }
  throw new Error(`no ld-linux-x86-64.so.2 under ${prefix}: the libc6 package did not unpack as expected`);
}
