import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { judgeLiveCopy, stableAcrossCut } from '../../../src/postgres/fingerprint-cut.ts';
import type { Fingerprint } from '../../../src/postgres/fingerprint.ts';

const test = suite('a crash-consistent copy judged against readings before and after its cut');

function fp(appRows: number, seq: string, orders = { rows: 10, checksum: 'c1' }): Fingerprint {
  return {
    databases: { app: { encoding: 'UTF8', collate: 'C', ctype: 'C' } },
    roles: { postgres: 'scram-sha-256' },
    perDb: {
      app: {
        tables: { 'public.w': { rows: appRows, checksum: `w${appRows}` }, 'public.orders': orders },
        sequences: { 'public.w_id_seq': seq },
        extensions: { plpgsql: '1.0' },
        objects: ['index public.w_pkey'],
        largeObjects: { count: 0, checksum: '0' },
      },
    },
  };
}

test('what was written while the snapshot was cut is reported with what the copy holds, not failed', () => {
  const before = fp(48, '48');
  const after = fp(50, '50');
  assert.equal(stableAcrossCut(before, after).written, [
    { db: 'app', kind: 'table', name: 'public.w' },
    { db: 'app', kind: 'sequence', name: 'public.w_id_seq' },
  ]);
  // Crash recovery may put a sequence up to 32 values ahead: still only a note.
  const j = judgeLiveCopy(before, after, fp(49, '81'));
  assert.equal(j.differences, []);
  assert.equal(j.written, [
    'database app: table public.w was written while the snapshot was cut: rows 48 before, 50 after, 49 in the copy',
    'database app: sequence public.w_id_seq was written while the snapshot was cut: value 48 before, 50 after, 81 in the copy',
  ]);
});

test('what stayed the same across the cut must be in the copy exactly', () => {
  const before = fp(48, '48');
  const after = fp(50, '50');
  const j = judgeLiveCopy(before, after, fp(49, '49', { rows: 9, checksum: 'c0' }));
  assert.equal(j.differences, ['database app: table public.orders: rows 10 → 9']);
});

test('a table that was written meanwhile must still exist in the copy; nothing written means an exact compare', () => {
  const before = fp(48, '48');
  const copy = fp(49, '49');
  delete copy.perDb.app?.tables['public.w'];
  assert.equal(judgeLiveCopy(before, fp(50, '50'), copy).differences, [
    'database app: table public.w missing in the copy',
  ]);
  assert.equal(judgeLiveCopy(before, before, fp(48, '48')).differences, []);
  assert.equal(judgeLiveCopy(before, before, fp(49, '48')).differences, ['database app: table public.w: rows 48 → 49']);
});

test.run();
