/**
 * The extensions that PostgreSQL itself ships (core PLs and contrib), by major, as the official images and
 * tianon's upgrade images carry them. Other extensions come from the image vendor, and only the image can say.
 */
const CONTRIB_13 = [
  'adminpack',
  'amcheck',
  'autoinc',
  'bloom',
  'btree_gin',
  'btree_gist',
  'citext',
  'cube',
  'dblink',
  'dict_int',
  'dict_xsyn',
  'earthdistance',
  'file_fdw',
  'fuzzystrmatch',
  'hstore',
  'insert_username',
  'intagg',
  'intarray',
  'isn',
  'lo',
  'ltree',
  'moddatetime',
  'pageinspect',
  'pg_buffercache',
  'pg_freespacemap',
  'pg_prewarm',
  'pg_stat_statements',
  'pg_trgm',
  'pg_visibility',
  'pgcrypto',
  'pgrowlocks',
  'pgstattuple',
  'plpgsql',
  'postgres_fdw',
  'refint',
  'seg',
  'sslinfo',
  'tablefunc',
  'tcn',
  'tsm_system_rows',
  'tsm_system_time',
  'unaccent',
  'uuid-ossp',
  'xml2',
];

/** Contrib modules added (from) and removed (until, exclusive) relative to 13's list; 10 to 12 ship the same but chkpass. */
const CHANGES: Array<{ name: string; from?: number; until?: number }> = [
  { name: 'old_snapshot', from: 14, until: 17 },
  { name: 'pg_surgery', from: 14 },
  { name: 'pg_walinspect', from: 15 },
  { name: 'pg_logicalinspect', from: 18 },
  { name: 'adminpack', until: 17 },
  { name: 'chkpass', until: 11 },
];

/** The extensions that PostgreSQL `major` ships. */
export function shippedExtensions(major: number): Set<string> {
  const set = new Set(CONTRIB_13);
  for (const c of CHANGES) {
    if ((c.from ?? 0) <= major && major < (c.until ?? Infinity)) set.add(c.name);
    else set.delete(c.name);
  }
  return set;
}

/** Why an extension is not in `to` although PostgreSQL shipped it before, if it is one of those. */
export function removedIn(name: string, to: number): number | undefined {
  const c = CHANGES.find((x) => x.name === name && x.until !== undefined);
  return c && c.until !== undefined && to >= c.until ? c.until : undefined;
}
