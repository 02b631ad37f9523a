import { parseConfigPaths, type ConfigPathLine } from './config-paths.ts';
import { parseTablespaces, type TablespaceFacts } from './tablespaces.ts';
import type { LockTable } from './locks.ts';
/** What the server says about itself (SERVER_SQL), parsed. */
export interface ServerFacts {
  versionNum: number;
  version: string;
  installUser: string;
  dataDirectory: string;
  checksums: boolean;
  walSegmentSize: string;
  passwordEncryption: string;
  sharedPreloadLibraries: string[];
  databases: DatabaseInfo[];
  roles: Array<{ name: string; login: boolean; hash: 'md5' | 'scram' | 'none' | 'other' }>;
  /** pg_hba rules; null when the server ran on check's own pg_hba (a stopped database read in the probe). */
  hba: Array<{ line: number; type: string; database: string[]; users: string[]; method: string }> | null;
  prepared: number;
  /** What sizes the shared lock table: max_locks_per_transaction × (max_connections + max_prepared_transactions). */
  lockTable?: LockTable;
  slots: Array<{ name: string; type: string; database: string | null }>;
  clients: Array<{ user: string | null; database: string | null; application: string; address: string | null }>;
  /** Configuration lines under PGDATA that name PGDATA by its absolute path (config-paths.ts); undefined: not asked. */
  configPaths?: ConfigPathLine[];
  /** The user tablespaces and their locations (undefined: the server did not say). */
  tablespaces?: TablespaceFacts[];
}

/** One pg_database row. */
export interface DatabaseInfo {
  name: string;
  encoding: string;
  collate: string;
  ctype: string;
  provider: 'libc' | 'icu' | 'builtin';
  icuLocale?: string;
  allowConn: boolean;
  sizeBytes: number;
}

/** Objects of one kind: how many in all, and the first of them (21 at most) with the statement that fixes each. */
export interface Objects {
  count: number;
  items: Array<{ name: string; fix?: string }>;
}

/** What one database says (DATABASE_SQL), parsed. */
export interface DatabaseFacts {
  extensions: Array<{ name: string; version: string }>;
  relations: number;
  /** Large objects: a restore into 16 or older takes a lock on each, in one transaction. */
  largeObjects?: number;
  /** User tables and partitioned tables: what pg_dump locks, in one transaction. */
  tables?: number;
  regColumns: Objects;
  postfixOperators: Objects;
  userConversions: Objects;
  attverColumns: Objects;
  /** User tables WITH OIDS (only 11 and older have them). */
  withOids?: Objects;
  /** User table columns of a type whose storage a later major dropped or changed, by type name. */
  typeColumns?: Record<string, Objects>;
  /** The libc collations other than the database's default that user columns and indexes use: name and locale. */
  libcCollations?: Array<{ name: string; locale: string }>;
  /** Functions that the schema's restore runs with an empty search_path (path-functions.ts). */
  pathFunctions?: Objects;
  /** Columns that a child table computes and its parent stores plainly (restore-traps.ts). */
  generatedChildren?: Objects;
  /** Expressions a logical load evaluates that call a function of a role who is not superuser (LOAD_CODE_SQL); asked for --method dump only. */
  loadCode?: Objects;
}

type Row = Record<string, unknown>;
const PROVIDERS: Record<string, DatabaseInfo['provider']> = { c: 'libc', i: 'icu', b: 'builtin' };

/** Parses SERVER_SQL's JSON. */
export function parseServerFacts(json: string): ServerFacts {
  const r = JSON.parse(json) as Row;
  const dbs = (r.databases as Row[]).map(
    (d): DatabaseInfo => ({
      name: String(d.datname),
      encoding: String(d.encoding_name),
      collate: String(d.datcollate ?? d.datlocale ?? ''),
      ctype: String(d.datctype ?? ''),
      provider: PROVIDERS[String(d.datlocprovider ?? 'c')] ?? 'libc',
      icuLocale: (d.datlocale ?? d.daticulocale ?? undefined) as string | undefined,
      allowConn: d.datallowconn === true,
      sizeBytes: Number(d.size),
    }),
  );
  return {
    versionNum: Number(r.version_num),
    version: String(r.version),
    installUser: String(r.install_user ?? 'postgres'),
    dataDirectory: String(r.data_directory),
    checksums: r.checksums === 'on',
    walSegmentSize: String(r.wal_segment_size),
    passwordEncryption: String(r.password_encryption),
    sharedPreloadLibraries: String(r.shared_preload_libraries ?? '')
      .split(',')
      .map((s) => s.trim().replace(/^"|"$/g, ''))
      .filter(Boolean),
    databases: dbs,
    roles: (r.roles ?? []) as ServerFacts['roles'],
    hba: ((r.hba ?? []) as Row[]).map((h) => ({
      line: Number(h.line),
      type: String(h.type),
      database: h.database as string[],
      users: h.users as string[],
      method: String(h.method),
    })),
    prepared: Number(r.prepared),
    ...(r.lock_table ? { lockTable: r.lock_table as LockTable } : {}),
    slots: r.slots as ServerFacts['slots'],
    clients: r.clients as ServerFacts['clients'],
    configPaths: parseConfigPaths(r.config_paths),
    tablespaces: parseTablespaces(r.tablespaces),
  };
}

/** One kind of objects as DATABASE_SQL gives it; a bare count or list of names (older answers) reads as such. */
export function objectsOf(v: unknown): Objects {
  if (Array.isArray(v)) return { count: v.length, items: v.map((name) => ({ name: String(name) })) };
  if (v && typeof v === 'object') {
    const o = v as { count?: unknown; items?: Array<{ name: string; fix?: string | null }> };
    return {
      count: Number(o.count ?? 0),
      items: (o.items ?? []).map((x) => ({ name: x.name, ...(x.fix ? { fix: x.fix } : {}) })),
    };
  }
  return { count: Number(v ?? 0), items: [] };
}

/** Parses DATABASE_SQL's JSON. */
export function parseDatabaseFacts(json: string): DatabaseFacts {
  const r = JSON.parse(json) as Row;
  return {
    extensions: r.extensions as DatabaseFacts['extensions'],
    relations: Number(r.relations),
    ...(r.large_objects === undefined ? {} : { largeObjects: Number(r.large_objects) }),
    ...(r.tables === undefined ? {} : { tables: Number(r.tables) }),
    regColumns: objectsOf(r.reg_columns),
    postfixOperators: objectsOf(r.postfix_operators),
    userConversions: objectsOf(r.user_conversions),
    attverColumns: objectsOf(r.attver_columns),
    withOids: objectsOf(r.with_oids),
    typeColumns: Object.fromEntries(Object.entries((r.type_columns ?? {}) as Row).map(([t, v]) => [t, objectsOf(v)])),
    libcCollations: (r.libc_collations ?? []) as Array<{ name: string; locale: string }>,
  };
}

/** Splits PSQL_SCRIPT's `<base64 name>\t<json>` lines into name → JSON. */
export function parsePerDatabase(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) m.set(Buffer.from(line.slice(0, tab), 'base64').toString('utf8'), line.slice(tab + 1));
  }
  return m;
}
