import type { DbFingerprint } from './fingerprint.ts';

/** How two fingerprints (or shapes) differ: one readable line per difference. */

type CatalogParts = Pick<DbFingerprint, 'sequences' | 'extensions' | 'objects'>;

/** The differences in CATALOG_PARTS: sequences, extensions (an update allowed with extensionUpdates), objects. */
export function diffCatalogParts(
  db: string,
  a: CatalogParts,
  b: CatalogParts,
  out: string[],
  extensionUpdates = false,
): void {
  diffMap(
    `database ${db}: sequence`,
    a.sequences,
    b.sequences,
    (s, x, y) => `database ${db}: sequence ${s}: ${x} → ${y}`,
    out,
  );
  const exts = extensionUpdates
    ? Object.fromEntries(Object.keys(b.extensions).map((e) => [e, a.extensions[e] ?? b.extensions[e]]))
    : b.extensions;
  diffMap(
    `database ${db}: extension`,
    a.extensions,
    exts,
    (e, x, y) => `database ${db}: extension ${e}: ${x} → ${y}`,
    out,
  );
  for (const o of a.objects.filter((o) => !b.objects.includes(o))) out.push(`database ${db}: ${o} missing after`);
  for (const o of b.objects.filter((o) => !a.objects.includes(o))) out.push(`database ${db}: ${o} new after`);
}

/** Databases and roles compared, then each database present on both sides by `perDb`. */
export function diffClusters<D>(
  before: { databases: object; roles: Record<string, string>; perDb: Record<string, D> },
  after: { databases: object; roles: Record<string, string>; perDb: Record<string, D> },
  perDb: (db: string, a: D, b: D, out: string[]) => void,
): string[] {
  const out: string[] = [];
  diffMap(
    'database',
    before.databases as Record<string, unknown>,
    after.databases as Record<string, unknown>,
    (k, a, b) => `database ${k}: ${fmt(a)} → ${fmt(b)}`,
    out,
  );
  diffMap('role', before.roles, after.roles, (k, a, b) => `role ${k}: password ${a} → ${b}`, out);
  for (const db of new Set([...Object.keys(before.perDb), ...Object.keys(after.perDb)])) {
    const a = before.perDb[db];
    const b = after.perDb[db];
    if (!a || !b) out.push(`database ${db}: ${a ? 'missing after' : 'new after'}`);
    else perDb(db, a, b, out);
  }
  return out;
}

/** A value as a difference line shows it. */
export function fmt(v: unknown): string {
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function diffMap<T>(
  what: string,
  a: Record<string, T>,
  b: Record<string, T>,
  changed: (k: string, x: T, y: T) => string,
  out: string[],
): void {
  for (const k of Object.keys(a)) {
    if (!(k in b)) out.push(`${what} ${k} missing after`);
    else if (fmt(a[k]) !== fmt(b[k])) out.push(changed(k, a[k] as T, b[k] as T));
  }
  for (const k of Object.keys(b)) if (!(k in a)) out.push(`${what} ${k} new after`);
}
