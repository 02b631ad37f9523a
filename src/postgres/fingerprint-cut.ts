import { compareFingerprints, type DbFingerprint, type Fingerprint } from './fingerprint.ts';

/**
 * Judging a copy of a RUNNING database (a crash-consistent snapshot) against fingerprints taken just before and
 * just after the snapshot was cut. Applications write all the while, so the copy cannot equal either reading as a
 * whole. What did not change between the two readings must be in the copy exactly; what changed was written while
 * the snapshot was cut, and the copy may hold any state of it that was committed then (and a sequence may stand up
 * to 32 values ahead after crash recovery, as PostgreSQL logs sequences ahead): those are reported, not failed.
 */
export interface CutJudgement {
  /** Real differences: something that was stable across the cut is not in the copy as it was. */
  differences: string[];
  /** What was written while the snapshot was cut, with what the copy holds. */
  written: string[];
}

/** The part of `after` that did not change since `before`: the items a copy of the data in between must hold. */
export function stableAcrossCut(
  before: Fingerprint,
  after: Fingerprint,
): { stable: Fingerprint; written: Array<{ db: string; kind: 'table' | 'sequence'; name: string }> } {
  const written: Array<{ db: string; kind: 'table' | 'sequence'; name: string }> = [];
  const perDb: Record<string, DbFingerprint> = {};
  for (const [db, a] of Object.entries(after.perDb)) {
    const b = before.perDb[db];
    if (!b) {
      perDb[db] = a;
      continue;
    }
    const tables = keepEqual(b.tables, a.tables, (name) => written.push({ db, kind: 'table', name }));
    const sequences = keepEqual(b.sequences, a.sequences, (name) => written.push({ db, kind: 'sequence', name }));
    perDb[db] = { ...a, tables, sequences };
  }
  return { stable: { ...after, perDb }, written };
}

function keepEqual<T>(b: Record<string, T>, a: Record<string, T>, changed: (k: string) => void): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(a)) {
    if (k in b && JSON.stringify(b[k]) !== JSON.stringify(v)) changed(k);
    else out[k] = v;
  }
  return out;
}

/** Compares a copy with the readings before and after its cut; see {@link CutJudgement}. */
export function judgeLiveCopy(before: Fingerprint, after: Fingerprint, copy: Fingerprint): CutJudgement {
  const { stable, written } = stableAcrossCut(before, after);
  const trimmed: Fingerprint = { ...copy, perDb: {} };
  const notes: string[] = [];
  const missing: string[] = [];
  for (const [db, c] of Object.entries(copy.perDb)) {
    const tables = { ...c.tables };
    const sequences = { ...c.sequences };
    for (const w of written.filter((x) => x.db === db)) {
      const bv = w.kind === 'table' ? before.perDb[db]?.tables[w.name]?.rows : before.perDb[db]?.sequences[w.name];
      const av = w.kind === 'table' ? after.perDb[db]?.tables[w.name]?.rows : after.perDb[db]?.sequences[w.name];
      const cv = w.kind === 'table' ? tables[w.name]?.rows : sequences[w.name];
      if (cv === undefined) {
        missing.push(`database ${db}: ${w.kind} ${w.name} missing in the copy`);
        continue;
      }
      notes.push(
        `database ${db}: ${w.kind} ${w.name} was written while the snapshot was cut: ${w.kind === 'table' ? 'rows' : 'value'} ` +
          `${bv} before, ${av} after, ${cv} in the copy`,
      );
      if (w.kind === 'table') delete tables[w.name];
      else delete sequences[w.name];
    }
    trimmed.perDb[db] = { ...c, tables, sequences };
  }
  return { differences: [...compareFingerprints(stable, trimmed), ...missing], written: notes };
}
