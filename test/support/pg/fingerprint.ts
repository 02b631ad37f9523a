import type { DbFingerprint, Fingerprint } from '../../../src/postgres/fingerprint.ts';

/** Runs SQL against one database and returns psql's unaligned, tab-separated, tuples-only output. */
export type SqlRunner = (db: string, sql: string) => Promise<string>;

// The types and the compare are the product's (src/postgres/fingerprint.ts); the values here are computed query
// by query, independently of the product's single-statement SQL, so that each checks the other.
export { compareFingerprints, type DbFingerprint, type Fingerprint } from '../../../src/postgres/fingerprint.ts';

/** Databases and roles, asked of the maintenance database. */
export const CLUSTER_SQL = {
  // Names as JSON strings: one that holds a newline or a tab stays one field of one row.
  databases: `SELECT to_json(datname), pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datallowconn ORDER BY datname`,
  // The kind of password hash only: md5, SCRAM or none. The hash itself never leaves the server.
  roles: `SELECT rolname, CASE WHEN rolpassword IS NULL THEN 'none' WHEN rolpassword LIKE 'md5%' THEN 'md5'
    WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256' ELSE 'other' END FROM pg_authid WHERE rolname !~ '^pg_' ORDER BY 1`,
};

/**
 * Per database: the user tables, sequences, extensions, named objects and large objects. A function is named
 * without `IN` before its arguments (14 writes it for procedures, 13 did not), and those made with another object
 * (internal dependencies: a range's and, from 14, its multirange's constructors) are left to that object. Temporary tables are
 * left out: they belong to one session, another session cannot read them, and they never survive a restart.
 */
export const DB_SQL = {
  tables: `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1`,
  sequences: `SELECT schemaname || '.' || sequencename, coalesce(last_value::text, 'unused') FROM pg_sequences ORDER BY 1`,
  extensions: `SELECT extname, extversion FROM pg_extension ORDER BY 1`,
  objects: `SELECT 'view ' || schemaname || '.' || viewname FROM pg_views WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname !~ '^pg_temp_'
    UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname || '(' || regexp_replace(pg_get_function_identity_arguments(p.oid), '(^|, )IN ', '\\1', 'g') || ')'
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_temp_'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype IN ('e', 'i'))
    UNION ALL SELECT 'index ' || schemaname || '.' || indexname FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname !~ '^pg_temp_'
    ORDER BY 1`,
  largeObjects: `SELECT count(DISTINCT loid), coalesce(sum(('x' || substr(md5(loid::text || ':' || pageno || ':' || md5(data)), 1, 15))::bit(60)::bigint), 0)
    FROM pg_largeobject`,
};

/**
 * A table's row count and content checksum: the sum of a 60-bit hash of each row's text. Order-independent and
 * streaming, so it works on pgbench tables of millions of rows; row text is the same on every major we test.
 */
export function tableSql(table: string): string {
  return `SELECT count(*), coalesce(sum(('x' || substr(md5(pg_catalog.textin(pg_catalog.record_out(t.*))), 1, 15))::bit(60)::bigint), 0) FROM ${table} t`;
}

/** psql -A -t -F '\t' output as rows of fields. */
export function parseRows(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** Takes the fingerprint of every connectable database but template0/template1. */
export async function takeFingerprint(unsafe: SqlRunner, maintenanceDb = 'postgres'): Promise<Fingerprint> {
  // Read with only pg_catalog on the path, as the plugin reads: a hostile role's public.quote_ident(name) or
  // || (name, text) (test/support/pg/hostile-role.ts) must not be sprung by the tests' own superuser reads.
  const sql: SqlRunner = (db, text) => unsafe(db, `set search_path = pg_catalog;\n${text}`);
  const fp: Fingerprint = { databases: {}, roles: {}, perDb: {} };
  for (const [name, encoding, collate, ctype] of parseRows(await sql(maintenanceDb, CLUSTER_SQL.databases))) {
    fp.databases[JSON.parse(name as string) as string] = {
      encoding: encoding as string,
      collate: collate as string,
      ctype: ctype as string,
    };
  }
  for (const [name, kind] of parseRows(await sql(maintenanceDb, CLUSTER_SQL.roles)))
    fp.roles[name as string] = kind as string;
  for (const db of Object.keys(fp.databases).filter((d) => d !== 'template1'))
    fp.perDb[db] = await dbFingerprint(sql, db);
  return fp;
}

/**
 * Every table's count and checksum in one statement (one exec a database, not one a table: a database of tenants
 * holds thousands): tableSql run for each table by a function of this session's own (pg_temp, gone with it).
 */
export function tablesSql(): string {
  const body = tableSql("' || t || '").replaceAll("'", "''").replace("'' || t || ''", "' || t || '");
  return `CREATE FUNCTION pg_temp.pgupgrade_test_table(t text, OUT n bigint, OUT s numeric) LANGUAGE plpgsql AS
  $f$ BEGIN EXECUTE '${body}' INTO n, s; END $f$;
  SELECT r.t, f.n, f.s FROM (${DB_SQL.tables}) r(t), LATERAL pg_temp.pgupgrade_test_table(r.t) f ORDER BY 1;`;
}

async function dbFingerprint(sql: SqlRunner, db: string): Promise<DbFingerprint> {
  const tables: DbFingerprint['tables'] = {};
  for (const [table, rows, checksum] of parseRows(await sql(db, tablesSql())))
    tables[table as string] = { rows: Number(rows), checksum: String(checksum) };
  const [lo] = parseRows(await sql(db, DB_SQL.largeObjects));
  return {
    tables,
    sequences: Object.fromEntries(parseRows(await sql(db, DB_SQL.sequences)) as Array<[string, string]>),
    extensions: Object.fromEntries(parseRows(await sql(db, DB_SQL.extensions)) as Array<[string, string]>),
    objects: parseRows(await sql(db, DB_SQL.objects)).map((r) => r[0] as string),
    largeObjects: { count: Number(lo?.[0] ?? 0), checksum: String(lo?.[1] ?? '0') },
  };
}
