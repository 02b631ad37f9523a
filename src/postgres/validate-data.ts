import type { Fingerprint } from './fingerprint.ts';
import type { ValidateFinding } from './validate.ts';

/**
 * How `validate` judges the data against the reference fingerprint (the data as the upgrade found it, when writes
 * had stopped). The applications write again once the upgrade is done, so their tables legitimately differ from
 * the reference. What tells a client's write from a loss is the server's own activity counters
 * (pg_stat_all_tables: rows inserted, updated and deleted), which pg_upgrade does not carry: they start with the
 * new cluster. A table that no client has written since the upgrade must equal the reference exactly (a
 * difference there is a FAIL, with the diff); a table written since is the writers' business and is only listed.
 * Counters that were reset after the upgrade (a crash, pg_stat_reset) cannot tell, and then a difference is a WARN.
 */
export interface DataInput {
  reference: Fingerprint;
  referenceSource: string;
  now: Fingerprint;
  /** Per database: writes per table (and pg_catalog.pg_largeobject) since the counters began. */
  writes: Record<string, Record<string, number>>;
  /** Per database: the databases whose counters were reset after the new server first started. */
  countersReset: Record<string, string | undefined>;
  /** The exact rollback command, for the fix. */
  rollback: string;
}

type Lines = { fail: string[]; warn: string[]; note: string[] };

const seqValue = (v: string | undefined): number => (v === undefined || v === 'unused' ? -Infinity : Number(v));

function judgeDb(db: string, i: DataInput, out: Lines): void {
  const a = i.reference.perDb[db];
  const b = i.now.perDb[db];
  if (!a || !b) {
    if (a) out.fail.push(`database ${db}: missing`);
    else out.note.push(`database ${db}: new since the upgrade`);
    return;
  }
  const writes = i.writes[db] ?? {};
  const reset = i.countersReset[db];
  // A difference that no counted write explains is a loss, unless the counters themselves were reset.
  const unexplained = (what: string) =>
    (reset ? out.warn : out.fail).push(
      `${what}${reset ? ` (the activity counters were reset at ${reset}, after the upgrade: cannot tell a write from a loss)` : ', not written since the upgrade'}`,
    );
  for (const [t, x] of Object.entries(a.tables)) {
    const y = b.tables[t];
    if (!y) {
      out.fail.push(`database ${db}: table ${t}: missing`);
      continue;
    }
    if (x.rows === y.rows && x.checksum === y.checksum) continue;
    const what =
      x.rows !== y.rows
        ? `database ${db}: table ${t}: rows ${x.rows} → ${y.rows}`
        : `database ${db}: table ${t}: content changed (rows ${x.rows})`;
    if ((writes[t] ?? 0) > 0)
      out.note.push(`${what}; written since the upgrade (${writes[t]} rows inserted, updated or deleted)`);
    else unexplained(what);
  }
  for (const t of Object.keys(b.tables).filter((t) => !(t in a.tables)))
    out.note.push(`database ${db}: table ${t}: new since the upgrade`);
  for (const [s, x] of Object.entries(a.sequences)) {
    if (!(s in b.sequences)) out.fail.push(`database ${db}: sequence ${s}: missing`);
    else if (seqValue(b.sequences[s]) < seqValue(x))
      out.fail.push(`database ${db}: sequence ${s}: ${x} → ${b.sequences[s]}, went back (new rows could reuse keys)`);
    else if (b.sequences[s] !== x)
      out.note.push(`database ${db}: sequence ${s}: ${x} → ${b.sequences[s]}, advanced since the upgrade`);
  }
  for (const e of Object.keys(a.extensions).filter((e) => !(e in b.extensions)))
    out.fail.push(`database ${db}: extension ${e}: missing`);
  for (const o of a.objects.filter((o) => !b.objects.includes(o))) out.fail.push(`database ${db}: ${o}: missing`);
  for (const o of b.objects.filter((o) => !a.objects.includes(o)))
    out.note.push(`database ${db}: ${o}: new since the upgrade`);
  const lo = (v: { count: number; checksum: string }) => `${v.count} (checksum ${v.checksum})`;
  if (lo(a.largeObjects) !== lo(b.largeObjects)) {
    const what = `database ${db}: large objects ${lo(a.largeObjects)} → ${lo(b.largeObjects)}`;
    if ((writes['pg_catalog.pg_largeobject'] ?? 0) > 0) out.note.push(`${what}; written since the upgrade`);
    else unexplained(what);
  }
}

/** The data check: the reference compared with the data now, each difference judged as above. Pure. */
export function judgeData(i: DataInput): ValidateFinding {
  const out: Lines = { fail: [], warn: [], note: [] };
  for (const [db, x] of Object.entries(i.reference.databases)) {
    const y = i.now.databases[db];
    if (y && JSON.stringify(x) !== JSON.stringify(y))
      out.fail.push(`database ${db}: encoding or locale ${JSON.stringify(x)} → ${JSON.stringify(y)}`);
  }
  for (const db of [...new Set([...Object.keys(i.reference.perDb), ...Object.keys(i.now.perDb)])].sort())
    judgeDb(db, i, out);
  const tables = Object.values(i.reference.perDb).reduce((n, d) => n + Object.keys(d.tables).length, 0);
  const rows = Object.values(i.reference.perDb).reduce(
    (n, d) => n + Object.values(d.tables).reduce((m, t) => m + t.rows, 0),
    0,
  );
  const written = out.note.filter((l) => l.includes('written since')).length;
  const base = `compared with the reference read from the ${i.referenceSource} (${Object.keys(i.reference.perDb).length} databases, ${tables} tables, ${rows} rows)`;
  const details = [
    ...out.fail.map((l) => `FAIL ${l}`),
    ...out.warn.map((l) => `WARN ${l}`),
    ...out.note.map((l) => `note ${l}`),
  ];
  const id = 'data';
  const title = 'The data equals the reference fingerprint';
  if (out.fail.length) {
    return {
      id,
      title,
      status: 'fail',
      found: `${out.fail.length} difference${out.fail.length > 1 ? 's' : ''} that no client's write explains, ${base}`,
      details,
      fix: `the upgraded data is not what the upgrade found: stop the applications, look at the differences, and roll back if they are real (writes made since are lost): ${i.rollback}`,
    };
  }
  if (out.warn.length) {
    return {
      id,
      title,
      status: 'warn',
      found: `${out.warn.length} difference${out.warn.length > 1 ? 's' : ''} that cannot be judged, ${base}`,
      details,
      fix: 'look at those tables: if no client wrote them since the upgrade, the data differs from what the upgrade found',
    };
  }
  return {
    id,
    title,
    status: 'pass',
    details,
    found: `equal, ${base}${written ? `; ${written} table${written > 1 ? 's' : ''} written by clients since the upgrade (listed)` : ''}`,
  };
}
