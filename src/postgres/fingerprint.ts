/**
 * A database's fingerprint: what must survive an upgrade unchanged, reduced to counts and checksums. Taken by
 * the plugin through psql in the database pod (two execs: one for the cluster, one looping over the databases),
 * compared by pure functions. It never holds a password hash: roles carry only the kind of hash.
 * The tests' own fingerprint (test/support/pg/fingerprint.ts) computes the same values query by query, so each
 * checks the other.
 */

import { diffCatalogParts, diffClusters, diffMap, fmt } from './fingerprint-diff.ts';

/** What a database cluster holds, reduced to what must survive an upgrade unchanged. */
export interface Fingerprint {
  databases: Record<string, { encoding: string; collate: string; ctype: string }>;
  roles: Record<string, string>;
  perDb: Record<string, DbFingerprint>;
}

export interface DbFingerprint {
  tables: Record<string, { rows: number; checksum: string }>;
  sequences: Record<string, string>;
  extensions: Record<string, string>;
  objects: string[];
  largeObjects: { count: number; checksum: string };
}

/** Databases and roles, asked of the maintenance database, as one JSON object. */
export const FINGERPRINT_CLUSTER_SQL = `select pg_catalog.json_build_object(
 'databases', (select pg_catalog.json_agg(pg_catalog.json_build_object('name', datname, 'encoding', pg_catalog.pg_encoding_to_char(encoding),
    'collate', datcollate, 'ctype', datctype) order by datname) from pg_catalog.pg_database where datallowconn),
 'roles', (select pg_catalog.json_agg(pg_catalog.json_build_object('name', rolname, 'hash', case when rolpassword is null then 'none'
    when rolpassword operator(pg_catalog.~~) 'md5%' then 'md5' when rolpassword operator(pg_catalog.~~) 'SCRAM-SHA-256$%' then 'scram-sha-256' else 'other' end)
    order by rolname) from pg_catalog.pg_authid where rolname operator(pg_catalog.!~) '^pg_')
)`;

/**
 * What pg_upgrade carries through its catalogs, per database, as JSON object members (O(catalog), not O(rows)):
 * sequence values, extensions and their versions, views, functions and indexes by name. A function's arguments
 * are named without `IN` (14 writes it for procedures, 13 did not), and the functions made with another object
 * (an internal dependency: a range's constructors, and from 14 its multirange's) are that object's, not counted
 * apart: the new major makes them as it restores the object. Like the rest of this
 * module's SQL (a superuser session runs it), every function, catalog, type and `||`, `~`, `!~`, `~~` operator is
 * pg_catalog's; names are joined with `||` as before (format('%s') would make a NULL part an empty string).
 */
const CAT = 'operator(pg_catalog.||)';
export const CATALOG_PARTS = ` 'sequences', (select coalesce(pg_catalog.json_object_agg(schemaname ${CAT} '.' ${CAT} sequencename,
    coalesce(last_value::pg_catalog.text, 'unused')), '{}') from pg_catalog.pg_sequences),
 'extensions', (select coalesce(pg_catalog.json_object_agg(extname, extversion), '{}') from pg_catalog.pg_extension),
 'objects', (select coalesce(pg_catalog.json_agg(o order by o), '[]') from (
    select 'view ' ${CAT} schemaname ${CAT} '.' ${CAT} viewname as o from pg_catalog.pg_views
      where schemaname not in ('pg_catalog', 'information_schema') and schemaname operator(pg_catalog.!~) '^pg_temp_'
    union all select 'function ' ${CAT} n.nspname ${CAT} '.' ${CAT} p.proname ${CAT} '(' ${CAT} pg_catalog.regexp_replace(pg_catalog.pg_get_function_identity_arguments(p.oid), '(^|, )IN ', E'\\\\1', 'g') ${CAT} ')'
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname operator(pg_catalog.!~) '^pg_temp_'
      and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = p.oid and d.deptype in ('e', 'i'))
    union all select 'index ' ${CAT} schemaname ${CAT} '.' ${CAT} indexname from pg_catalog.pg_indexes
      where schemaname not in ('pg_catalog', 'information_schema') and schemaname operator(pg_catalog.!~) '^pg_temp_') s),`;

/**
 * One database as one JSON object. Each user table's row count and content checksum (the sum of a 60-bit hash
 * of each row's text: order-independent and streaming) are computed by query_to_xml, so the whole database is one
 * read-only statement; table names enter that inner query through format('%I'), never unescaped. Temporary tables
 * are left out (relpersistence 't', schemas pg_temp_N): another session's cannot be read, and none survives a restart.
 * A row's text comes from record_out, never from a cast: a table's owner may CREATE CAST from its row type to text
 * with a function of its own, which `t::text` would run in this superuser session (and `t` may be a column's name).
 */
const HASH60 = (text: string, quote = "'") =>
  `(${quote}x${quote} ${CAT} pg_catalog.substr(pg_catalog.md5(${text}), 1, 15))::pg_catalog.bit(60)::pg_catalog.int8`;
export const FINGERPRINT_DB_SQL = `select pg_catalog.json_build_object(
 'tables', (select coalesce(pg_catalog.json_object_agg(name,
     (pg_catalog.xpath('/row/r/text()', x))[1]::pg_catalog.text ${CAT} ' ' ${CAT} (pg_catalog.xpath('/row/s/text()', x))[1]::pg_catalog.text), '{}')
   from (select pg_catalog.quote_ident(n.nspname) ${CAT} '.' ${CAT} pg_catalog.quote_ident(c.relname) as name,
     pg_catalog.query_to_xml(pg_catalog.format('select pg_catalog.count(*) as r, coalesce(pg_catalog.sum(${HASH60('pg_catalog.textin(pg_catalog.record_out(t.*))', "''")}), 0) as s from %I.%I t',
       n.nspname, c.relname), false, true, '') as x
     from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where c.relkind in ('r', 'p') and c.relpersistence <> 't' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname operator(pg_catalog.!~) '^pg_toast'
       and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = c.oid and d.deptype = 'e')) t),
${CATALOG_PARTS}
 'large_objects', (select pg_catalog.json_build_object('count', pg_catalog.count(distinct loid),
    'checksum', coalesce(pg_catalog.sum(${HASH60(`loid::pg_catalog.text ${CAT} ':' ${CAT} pageno ${CAT} ':' ${CAT} pg_catalog.md5(data)`)}), 0)::pg_catalog.text)
    from pg_catalog.pg_largeobject)
)`;

/** Parses one query's JSON answer into an object, or says which query returned what. */
export function objectOf(json: string, what: string, query = 'fingerprint'): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new Error(`the ${what} ${query} query returned something that is not JSON: ${json.slice(0, 200)}`);
  }
  if (!v || typeof v !== 'object') throw new Error(`the ${what} ${query} query returned ${json.slice(0, 200)}`);
  return v as Record<string, unknown>;
}

/** The cluster part of FINGERPRINT_CLUSTER_SQL's answer: databases and the kind of each role's hash. */
export function clusterPart(c: Record<string, unknown>): Pick<Fingerprint, 'databases' | 'roles'> {
  const out: Pick<Fingerprint, 'databases' | 'roles'> = { databases: {}, roles: {} };
  for (const d of (c.databases ?? []) as Array<{ name: string; encoding: string; collate: string; ctype: string }>) {
    out.databases[d.name] = { encoding: d.encoding, collate: d.collate, ctype: d.ctype };
  }
  for (const r of (c.roles ?? []) as Array<{ name: string; hash: string }>) out.roles[r.name] = r.hash;
  return out;
}

/** The databases that get a per-database fingerprint: all connectable ones but template1. */
export function fingerprintedDatabases(clusterJson: string): string[] {
  const c = objectOf(clusterJson, 'cluster');
  return ((c.databases ?? []) as Array<{ name: string }>).map((d) => d.name).filter((n) => n !== 'template1');
}

/** Builds the fingerprint from FINGERPRINT_CLUSTER_SQL's answer and FINGERPRINT_DB_SQL's answer per database. */
export function parseFingerprint(clusterJson: string, perDb: Map<string, string>): Fingerprint {
  const fp: Fingerprint = { ...clusterPart(objectOf(clusterJson, 'cluster')), perDb: {} };
  for (const [db, json] of perDb) {
    const o = objectOf(json, `database ${db}`);
    const tables: DbFingerprint['tables'] = {};
    for (const [t, v] of Object.entries((o.tables ?? {}) as Record<string, string>)) {
      const [rows, checksum] = v.split(' ');
      tables[t] = { rows: Number(rows), checksum: String(checksum) };
    }
    const lo = (o.large_objects ?? { count: 0, checksum: '0' }) as { count: number; checksum: string };
    fp.perDb[db] = {
      tables,
      sequences: (o.sequences ?? {}) as Record<string, string>,
      extensions: (o.extensions ?? {}) as Record<string, string>,
      objects: (o.objects ?? []) as string[],
      largeObjects: { count: Number(lo.count), checksum: String(lo.checksum) },
    };
  }
  return fp;
}

/** Totals for a one-line summary: databases, tables, rows. */
export function fingerprintTotals(fp: Fingerprint): { databases: number; tables: number; rows: number } {
  const dbs = Object.values(fp.perDb);
  return {
    databases: dbs.length,
    tables: dbs.reduce((n, d) => n + Object.keys(d.tables).length, 0),
    rows: dbs.reduce((n, d) => n + Object.values(d.tables).reduce((m, t) => m + t.rows, 0), 0),
  };
}

/** What starts a checksum keyed by the namespace's secret key (src/fingerprint/keyed.ts). */
export const KEYED_PREFIX = 'k1:';

/** True when the checksums of `fp` are keyed: the large objects' checksum, which every database has, says it. */
export function checksumsKeyed(fp: Fingerprint): boolean {
  return Object.values(fp.perDb).some((d) => d.largeObjects.checksum.startsWith(KEYED_PREFIX));
}

/**
 * The differences between two fingerprints, one readable line each (which database, which table, what
 * changed); empty when they are equal. Extension versions are compared exactly by default, because pg_upgrade
 * keeps them; a logical restore runs CREATE EXTENSION, which installs the target's default version, so a
 * dump/restore compare passes `extensionUpdates: true` (the extension must still be there).
 */
export function compareFingerprints(
  before: Fingerprint,
  after: Fingerprint,
  opts: { extensionUpdates?: boolean } = {},
): string[] {
  if (checksumsKeyed(before) !== checksumsKeyed(after)) {
    throw new Error(
      `the fingerprint ${checksumsKeyed(before) ? 'before' : 'after'} has keyed checksums and the other not: they cannot be compared ` +
        `(the namespace's Secret pgupgrade-record-key was made or removed between them)`,
    );
  }
  return diffClusters(before, after, (db, a, b, out) => {
    diffMap(
      `database ${db}: table`,
      a.tables,
      b.tables,
      (t, x, y) =>
        x.rows !== y.rows
          ? `database ${db}: table ${t}: rows ${x.rows} → ${y.rows}`
          : `database ${db}: table ${t}: content changed (rows ${x.rows})`,
      out,
    );
    diffCatalogParts(db, a, b, out, opts.extensionUpdates);
    if (fmt(a.largeObjects) !== fmt(b.largeObjects))
      out.push(`database ${db}: large objects ${fmt(a.largeObjects)} → ${fmt(b.largeObjects)}`);
  });
}
