import type { DatabaseFacts, DatabaseInfo } from './facts.ts';
import { parseImageRef } from './images.ts';
import { tagMajors } from './image-flags.ts';
import type { Finding } from './rules.ts';
import type { Method } from './versions.ts';

/** The C library an image's PostgreSQL is linked against: it decides how a libc collation sorts text. */
export type Libc = 'musl' | 'glibc';

// Debian and Ubuntu release names that images put in their tags (postgres:17-bookworm, 15.4.0-debian-12-r0).
const GLIBC_TAG =
  /(^|[-.])(debian|bookworm|bullseye|buster|stretch|trixie|ubuntu|focal|jammy|noble|ubi\d*|centos|rhel|el\d+)/;

/**
 * Which C library an image carries, judged from its name: an `alpine` tag or repository is musl; the official
 * image without one, Bitnami's, tianon's upgrade images and a tag that names a Debian/Ubuntu/RHEL release are
 * glibc. `bitnamiLayout`: the pod showed Bitnami's layout (a vendor's image built on Bitnami's, Debian-based).
 * Undefined when the name does not tell.
 */
export function libcOf(image: string, bitnamiLayout = false): Libc | undefined {
  const { repo, tag = '' } = parseImageRef(image);
  if (/(^|[-.])alpine/.test(tag) || /(^|\/)alpine($|\/)|-alpine$/.test(repo)) return 'musl';
  if (
    repo === 'postgres' ||
    repo.endsWith('bitnami/postgresql') ||
    repo.endsWith('bitnamilegacy/postgresql') ||
    repo.endsWith('postgres-upgrade')
  )
    return 'glibc';
  if (GLIBC_TAG.test(tag) || bitnamiLayout) return 'glibc';
  return undefined;
}

/**
 * Is this a server's image, one whose tag names one major (`postgres:17-alpine`), not an upgrade image that holds
 * two (`tianon/postgres-upgrade:13-to-17`) or one whose tag names none?
 */
export function isServerImage(image: string): boolean {
  return tagMajors(image).length === 1 && !parseImageRef(image).repo.endsWith('postgres-upgrade');
}

/**
 * Does this libc locale sort by code point on every C library? C and POSIX are byte order (PostgreSQL does not
 * even call strcoll for them); C.UTF-8 is code-point order in glibc (2.35 upstream, Debian's patch before) and in
 * musl, whose strcoll is strcmp for every locale. Any other name (en_US.UTF-8…) sorts by glibc's tables on
 * Debian and by code point on Alpine.
 */
export function isCodePointLocale(locale: string): boolean {
  return /^(C|POSIX)$/i.test(locale) || /^C\.UTF-?8$/i.test(locale);
}

/** What the libc rule reads. */
export interface LibcInput {
  oldImage: string;
  newImage: string;
  to: number;
  method: Method;
  bitnamiLayout: boolean;
  databases: DatabaseInfo[];
  facts: Map<string, DatabaseFacts>;
}

/** The databases and columns whose order a libc collation other than C/POSIX/C.UTF-8 decides. */
export function libcSortedText(databases: DatabaseInfo[], facts: Map<string, DatabaseFacts>): string[] {
  const out: string[] = [];
  for (const d of databases) {
    if (d.name === 'template0') continue;
    if (d.provider === 'libc' && !isCodePointLocale(d.collate))
      out.push(`database ${d.name} (LC_COLLATE ${d.collate})`);
    const cols = (facts.get(d.name)?.libcCollations ?? []).filter((c) => !isCodePointLocale(c.locale));
    if (cols.length)
      out.push(
        `database ${d.name}: columns or indexes under COLLATE ${cols.map((c) => `"${c.name}" (${c.locale})`).join(', ')}`,
      );
  }
  return out;
}

const TITLE = "Text sorts the same under the new image's C library";
const f = (status: Finding['status'], found: string, fix?: string): Finding => ({
  id: 'libc',
  title: TITLE,
  status,
  found,
  ...(fix ? { fix } : {}),
});

/**
 * musl (Alpine) and glibc (Debian) order text differently under every libc collation but C/POSIX/C.UTF-8, and a
 * B-tree index keeps the order it was built in: after an in-place upgrade into the other family, lookups miss
 * rows and unique indexes admit duplicates, silently. A pair across families fails unless nothing is sorted by
 * such a collation (ICU and builtin providers do not depend on the C library).
 */
export function verifyLibcFamily(i: LibcInput): Finding {
  if (i.method === 'dump')
    return f('pass', "not needed: --method dump rebuilds every index under the new image's C library");
  const before = libcOf(i.oldImage, i.bitnamiLayout);
  // The workload keeps its layout: a Bitnami-layout pod runs a Bitnami-based image after the upgrade too.
  const after = libcOf(i.newImage, i.bitnamiLayout);
  const pair = `${i.oldImage} (${before ?? 'C library unknown'}) → ${i.newImage} (${after ?? 'C library unknown'})`;
  if (before && before === after) return f('pass', `${pair}: the same C library`);
  const at = libcSortedText(i.databases, i.facts);
  if (at.length === 0)
    return f('pass', `${pair}: no database or column sorts text by a libc collation other than C/POSIX/C.UTF-8`);
  const old = parseImageRef(i.oldImage);
  const repo = `${old.registry ? `${old.registry}/` : ''}${old.repo}`;
  const keep =
    before === 'musl'
      ? `keep the Alpine family: --image ${repo}:${i.to}-alpine`
      : before === 'glibc' && old.repo === 'postgres'
        ? `keep a glibc image: --image ${repo}:${i.to} (not -alpine)`
        : "keep the image's C library family";
  const fix =
    `${keep}; or move to the other family by the dump method (--method dump --target-image <the other family's image>: a new instance filled by pg_dump/pg_restore), ` +
    'which rebuilds every index under the new C library';
  if (before && after) {
    return f(
      'fail',
      `${pair}: ${before} and ${after} sort text differently, and ${at.join('; ')} ${at.length > 1 ? 'are' : 'is'} ordered by a libc collation, ` +
        'so every index on that text would be silently out of order after an in-place upgrade (wrong query results, duplicate keys)',
      fix,
    );
  }
  if (before !== 'musl' && after !== 'musl')
    return f('pass', `${pair}: neither image is Alpine (musl); assumed the same C library`);
  return f(
    'warn',
    `${pair}: one image is Alpine (musl) and the other's C library cannot be told from its name, while ${at.join('; ')} ` +
      `${at.length > 1 ? 'are' : 'is'} ordered by a libc collation: a change of C library would leave those indexes out of order`,
    `make sure both images use the same C library, or ${fix}`,
  );
}
