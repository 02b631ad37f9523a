/**
 * The data's shape: what pg_upgrade carries unchanged, read in O(relations), not O(rows). In link, clone, copy
 * and swap modes pg_upgrade moves each user relation's files as they are (the new cluster gets the very same
 * blocks), and carries sequences, extensions, views, functions, indexes, roles and databases through its
 * catalogs. So every relation's kind and main-fork size in bytes (its TOAST table's too), with the catalog parts
 * of the fingerprint, must be equal on the old server once nothing writes and on the new one at its first start.
 * Equal shapes let the applications return while the content is compared; a different shape (an autovacuum that
 * truncated a table meanwhile, a writer outside the selector) falls back to the full compare first.
 */
import { CATALOG_PARTS, clusterPart, objectOf, FINGERPRINT_CLUSTER_SQL, type Fingerprint } from './fingerprint.ts';
import { diffCatalogParts, diffClusters, diffMap } from './fingerprint-diff.ts';

export interface Shape {
  databases: Fingerprint['databases'];
  roles: Fingerprint['roles'];
  perDb: Record<string, DbShape>;
}

export interface DbShape {
  /** schema.name → "<relkind> <bytes>[ toast <bytes>]". */
  relations: Record<string, string>;
  sequences: Record<string, string>;
  extensions: Record<string, string>;
  objects: string[];
  largeObjects: number;
}

/** The cluster part is the fingerprint's: databases and roles (the kind of each password hash, never the hash). */
export const SHAPE_CLUSTER_SQL = FINGERPRINT_CLUSTER_SQL;

/**
 * One database's shape as one JSON object: one stat() per relation file segment, one read per sequence. Tables,
 * materialized views, indexes; not partitioned parents (no storage) nor temporary tables (none survives a restart).
 */
const CAT = 'operator(pg_catalog.||)';
export const SHAPE_DB_SQL = `select pg_catalog.json_build_object(
 'relations', (select coalesce(pg_catalog.json_object_agg(pg_catalog.quote_ident(n.nspname) ${CAT} '.' ${CAT} pg_catalog.quote_ident(c.relname),
     c.relkind::pg_catalog.text ${CAT} ' ' ${CAT} pg_catalog.pg_relation_size(c.oid)
       ${CAT} coalesce(' toast ' ${CAT} pg_catalog.pg_relation_size(nullif(c.reltoastrelid, 0::pg_catalog.oid)), '')), '{}')
   from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where c.relkind in ('r', 'm', 'i') and c.relpersistence <> 't' and n.nspname not in ('pg_catalog', 'information_schema')
     and n.nspname operator(pg_catalog.!~) '^pg_toast' and n.nspname operator(pg_catalog.!~) '^pg_temp_'),
${CATALOG_PARTS}
 'large_objects', (select pg_catalog.count(*) from pg_catalog.pg_largeobject_metadata)
)`;

/** Builds the shape from SHAPE_CLUSTER_SQL's answer and SHAPE_DB_SQL's answer per database. */
export function parseShape(clusterJson: string, perDb: Map<string, string>): Shape {
  const shape: Shape = { ...clusterPart(objectOf(clusterJson, 'cluster', 'shape')), perDb: {} };
  for (const [db, json] of perDb) {
    const o = objectOf(json, `database ${db}`, 'shape');
    shape.perDb[db] = {
      relations: (o.relations ?? {}) as Record<string, string>,
      sequences: (o.sequences ?? {}) as Record<string, string>,
      extensions: (o.extensions ?? {}) as Record<string, string>,
      objects: (o.objects ?? []) as string[],
      largeObjects: Number(o.large_objects ?? 0),
    };
  }
  return shape;
}

/** The differences, one readable line each; empty when the shapes are equal. */
export function compareShapes(before: Shape, after: Shape): string[] {
  return diffClusters(before, after, (db, a, b, out) => {
    diffMap(
      `database ${db}: relation`,
      a.relations,
      b.relations,
      (r, x, y) => `database ${db}: relation ${r}: ${x} → ${y} (kind, bytes)`,
      out,
    );
    diffCatalogParts(db, a, b, out);
    if (a.largeObjects !== b.largeObjects)
      out.push(`database ${db}: large objects ${a.largeObjects} → ${b.largeObjects}`);
  });
}

/** Totals for a one-line summary. */
export function shapeTotals(s: Shape): { databases: number; relations: number } {
  return {
    databases: Object.keys(s.perDb).length,
    relations: Object.values(s.perDb).reduce((n, d) => n + Object.keys(d.relations).length, 0),
  };
}

/**
 * The fingerprint with each database's sequences taken from a shape read earlier. Sequences are not
 * transactional: a REPEATABLE READ snapshot still sees every later nextval(). When the applications start while
 * the content is compared, the values read on the new server before they started (its shape) stand for it.
 */
export function withShapeSequences(fp: Fingerprint, shape: Shape): Fingerprint {
  return {
    ...fp,
    perDb: Object.fromEntries(
      Object.entries(fp.perDb).map(([db, d]) => [db, { ...d, sequences: shape.perDb[db]?.sequences ?? d.sequences }]),
    ),
  };
}
