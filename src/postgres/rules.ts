import type { DatabaseFacts, ServerFacts } from './facts.ts';
import { removedIn, shippedExtensions } from './extensions.ts';
import type { Method } from './versions.ts';

/** The outcome of one check. */
export type Status = 'pass' | 'warn' | 'fail';

/** One line of the report: what was checked, what was found, and what to do. */
export interface Finding {
  id: string;
  title: string;
  status: Status;
  found: string;
  fix?: string;
}

/** What the database rules read. */
export interface DbRuleInput {
  from: number;
  to: number;
  method: Method;
  server: ServerFacts;
  databases: Map<string, DatabaseFacts>;
  /** True when the target image is one whose extensions we know (official or tianon's). */
  targetIsStock: boolean;
}

/** One finding; `fix` only when there is one. */
export const finding = (id: string, title: string, status: Status, found: string, fix?: string): Finding => ({
  id,
  title,
  status,
  found,
  ...(fix ? { fix } : {}),
});

/**
 * The initdb options that give a new cluster the old one's default encoding and locale (template1's, which
 * template1 and postgres of a new cluster take): none when template1 is not known.
 */
export function localeOptions(s: ServerFacts): string[] {
  const t1 = s.databases.find((d) => d.name === 'template1');
  if (!t1) return [];
  if (t1.provider === 'libc')
    return [`--encoding=${t1.encoding}`, `--lc-collate=${t1.collate}`, `--lc-ctype=${t1.ctype}`];
  return [
    `--encoding=${t1.encoding}`,
    `--locale-provider=${t1.provider}`,
    `--icu-locale=${t1.icuLocale ?? ''}`,
    `--lc-collate=${t1.collate}`,
    `--lc-ctype=${t1.ctype}`,
  ];
}

/** The initdb options that reproduce the old cluster, as the upgrade Job will pass them. */
export function initdbOptions(s: ServerFacts, to: number): string[] {
  const opts = localeOptions(s);
  // Checksums are off by default before 18 and on from 18, whose initdb alone knows --no-data-checksums.
  if (s.checksums) opts.push('--data-checksums');
  else if (to >= 18) opts.push('--no-data-checksums');
  const seg = /^(\d+)MB$/.exec(s.walSegmentSize);
  if (seg && seg[1] !== '16') opts.push(`--wal-segsize=${seg[1]}`);
  return opts;
}

/** Encoding and locale of every database against template1, which the new cluster's initdb copies. */
export function verifyLocales(i: DbRuleInput): Finding {
  const t1 = i.server.databases.find((d) => d.name === 'template1');
  if (!t1)
    return finding(
      'initdb',
      'initdb options match',
      'fail',
      'template1 is missing',
      'recreate template1 from template0 before upgrading',
    );
  const odd = i.server.databases.filter(
    (d) =>
      d.name !== 'template0' &&
      (d.encoding !== t1.encoding || d.collate !== t1.collate || d.ctype !== t1.ctype || d.provider !== t1.provider),
  );
  const opts = initdbOptions(i.server, i.to).join(' ');
  if (odd.length === 0)
    return finding(
      'initdb',
      'initdb options match',
      'pass',
      `every database is ${t1.encoding}, ${t1.collate}/${t1.ctype} (${t1.provider}); checksums ${i.server.checksums ? 'on' : 'off'}, WAL segments ${i.server.walSegmentSize}; initdb ${opts}`,
    );
  const list = odd.map((d) => `${d.name} (${d.encoding}, ${d.collate}/${d.ctype}, ${d.provider})`).join(', ');
  return finding(
    'initdb',
    'initdb options match',
    'fail',
    `${list} differ from template1 (${t1.encoding}, ${t1.collate}/${t1.ctype}, ${t1.provider}); initdb ${opts}`,
    "pg_upgrade keeps each database's own locale, but the tool can only verify and restore databases whose locale is the cluster default. Dump and recreate those databases with template1's locale, or use --method dump, which recreates each database with its own locale.",
  );
}

/** Extensions in every database against what the target ships; shared_preload_libraries too. */
export function verifyExtensions(i: DbRuleInput): Finding {
  const shipped = shippedExtensions(i.to);
  const missing: string[] = [];
  const unknown: string[] = [];
  for (const [db, f] of i.databases) {
    for (const e of f.extensions) {
      if (shipped.has(e.name)) continue;
      const gone = removedIn(e.name, i.to);
      if (gone) missing.push(`${db}: ${e.name} ${e.version} (removed from PostgreSQL ${gone})`);
      else if (i.targetIsStock) missing.push(`${db}: ${e.name} ${e.version} (not in the target image)`);
      else unknown.push(`${db}: ${e.name}`);
    }
  }
  const libs = i.server.sharedPreloadLibraries.filter(
    (l) => !shipped.has(l) && l !== 'auto_explain' && l !== 'pg_stat_statements',
  );
  if (missing.length) {
    return finding(
      'extensions',
      'Extensions exist in the target',
      'fail',
      missing.join('; '),
      'DROP EXTENSION the ones you no longer need, or name an image that has them with --image; nothing is stopped until this passes',
    );
  }
  if (unknown.length || libs.length) {
    return finding(
      'extensions',
      'Extensions exist in the target',
      'warn',
      `not part of PostgreSQL, the target image must provide them: ${[...unknown, ...libs.map((l) => `shared_preload_libraries: ${l}`)].join('; ')}`,
      'make sure the target image ships these at the target major (pg_upgrade --check in the upgrade Job stops otherwise)',
    );
  }
  const count = [...i.databases.values()].reduce((n, f) => n + f.extensions.length, 0);
  return finding(
    'extensions',
    'Extensions exist in the target',
    'pass',
    `${count} extensions in ${i.databases.size} databases, all shipped with PostgreSQL ${i.to}`,
  );
}

/** md5 hashes, password_encryption and pg_hba methods: what changes on the target. */
export function verifyPasswords(i: DbRuleInput): Finding {
  const md5 = i.server.roles.filter((r) => r.hash === 'md5').map((r) => r.name);
  const md5Lines = (i.server.hba ?? []).filter((h) => h.method === 'md5' || h.method === 'password').map((h) => h.line);
  const hba =
    i.server.hba === null
      ? "not read (the stopped server ran on check's own socket-only pg_hba)"
      : md5Lines.length
        ? md5Lines.join(', ')
        : 'none';
  const found = `password_encryption=${i.server.passwordEncryption}; md5 roles: ${md5.length ? md5.join(', ') : 'none'}; pg_hba md5/password lines: ${hba}`;
  if (md5.length === 0) return finding('passwords', 'Passwords and authentication', 'pass', found);
  const deprecated = i.to >= 18 ? ' PostgreSQL 18 deprecates md5 passwords and warns at each login.' : '';
  return finding(
    'passwords',
    'Passwords and authentication',
    'warn',
    `${found}. pg_upgrade keeps the hashes, but new clusters default to scram-sha-256 since 14: a pg_hba line or client that requires scram rejects these roles.${deprecated}`,
    `keep an md5 (not scram-sha-256) pg_hba method for them after the upgrade, or re-set their passwords with password_encryption=scram-sha-256 (\\password in psql) and switch clients to SCRAM`,
  );
}
