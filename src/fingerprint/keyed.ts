import { createHmac } from 'node:crypto';
import { KEYED_PREFIX, checksumsKeyed, type DbFingerprint, type Fingerprint } from '../postgres/fingerprint.ts';

/**
 * A table's content checksum is a sum of hashes of its rows' text: for a one-row table of a guessable value (a
 * flag, a PIN, a small secret) anyone who may read the ConfigMap that keeps the fingerprint could try values until
 * one gives it. So every checksum the plugin keeps or compares is keyed: an HMAC under the namespace's own secret
 * key (Secret pgupgrade-record-key), of the database, the table and the server's checksum. Equal content still
 * gives equal values under one key; without the key nothing can be tried. The row counts stay as they are.
 */
function keyed(key: string, db: string, what: string, checksum: string): string {
  return `${KEYED_PREFIX}${createHmac('sha256', key)
    .update(`${JSON.stringify(db)}\n${JSON.stringify(what)}\n${checksum}`)
    .digest('hex')
    .slice(0, 32)}`;
}

/** The fingerprint with each table's and the large objects' checksum keyed by `key`; already keyed ones stay. Pure. */
export function keyChecksums(fp: Fingerprint, key: string): Fingerprint {
  if (checksumsKeyed(fp)) return fp;
  const perDb: Record<string, DbFingerprint> = {};
  for (const [db, d] of Object.entries(fp.perDb)) {
    const tables = Object.fromEntries(
      Object.entries(d.tables).map(([t, v]) => [
        t,
        { rows: v.rows, checksum: keyed(key, db, `table ${t}`, v.checksum) },
      ]),
    );
    perDb[db] = {
      ...d,
      tables,
      largeObjects: { count: d.largeObjects.count, checksum: keyed(key, db, 'large objects', d.largeObjects.checksum) },
    };
  }
  return { ...fp, perDb };
}
