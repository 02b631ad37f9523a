import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertWritesPresent, countWrites, readJournal, withoutWrites, type Write } from '../../support/pg/writes.ts';
import type { Fingerprint } from '../../support/pg/fingerprint.ts';

/** A SqlRunner double that answers the writes query with the given rows. */
const table = (rows: Array<[number, string]>) => async () => rows.map(([id, pod]) => `${id}\t${pod}`).join('\n');

test('the journal: one file per pod, lines id,major,pod; a torn last line is left out', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'journal-'));
  fs.writeFileSync(path.join(dir, 'app-a.log'), '1,13,app-a\n3,13,app-a\n4,1');
  fs.writeFileSync(path.join(dir, 'app-b.log'), '2,13,app-b\n');
  const w = readJournal(dir);
  assert.equal(w.map((x) => x.id).sort(), [1, 2, 3]);
  assert.equal(countWrites(w), { total: 3, byMajor: { 13: 3 } });
  assert.equal(readJournal(path.join(dir, 'none')), []);
  fs.rmSync(dir, { recursive: true });
});

test('every committed write must be present, matched by id and pod; the failure lists the missing', async () => {
  const writes: Write[] = [
    { id: 1, major: 13, pod: 'a' },
    { id: 2, major: 13, pod: 'b' },
  ];
  assert.equal(
    await assertWritesPresent(
      table([
        [1, 'a'],
        [2, 'b'],
        [3, 'b'],
      ]),
      writes,
    ),
    { committed: 2, present: 2, discardedByRollback: 0 },
  );
  try {
    await assertWritesPresent(
      table([
        [1, 'a'],
        [2, 'a'],
      ]),
      writes,
    );
    assert.unreachable('a write is missing');
  } catch (err) {
    assert.match(
      (err as Error).message,
      '1 of 2 writes the application saw committed are missing from public.app_writes: id 2 (pod b, on 13)',
    );
  }
});

test('after a rollback from 15, only the writes committed on 15 before it may be gone', async () => {
  const before: Write[] = [
    { id: 1, major: 13, pod: 'a' },
    { id: 2, major: 15, pod: 'c' },
  ];
  const rolledBack = { from: 15, journal: before };
  // The sequence went back with the snapshot: id 2 is taken again by a write on 13 after the rollback.
  const after: Write[] = [...before, { id: 2, major: 13, pod: 'd' }];
  assert.equal(
    await assertWritesPresent(
      table([
        [1, 'a'],
        [2, 'd'],
      ]),
      after,
      { rolledBack },
    ),
    { committed: 3, present: 2, discardedByRollback: 1 },
  );
  // Upgraded again: a new write on 15 is no longer covered by the rollback.
  const again = [...after, { id: 3, major: 15, pod: 'e' }];
  try {
    await assertWritesPresent(
      table([
        [1, 'a'],
        [2, 'd'],
      ]),
      again,
      { rolledBack },
    );
    assert.unreachable('the later write on 15 is missing');
  } catch (err) {
    assert.match((err as Error).message, 'id 3 (pod e, on 15)');
  }
});

test("withoutWrites drops the application's table, its sequence and index, and nothing else", () => {
  const db = {
    tables: { 'public.app_writes': { rows: 5, checksum: '1' }, 'public.t': { rows: 1, checksum: '2' } },
    sequences: { 'public.app_writes_id_seq': '5', 'public.t_id_seq': '1' },
    extensions: {},
    objects: ['index public.app_writes_pkey', 'index public.t_pkey'],
    largeObjects: { count: 0, checksum: '0' },
  };
  const fp: Fingerprint = { databases: {}, roles: {}, perDb: { postgres: db, app1: db } };
  const out = withoutWrites(fp);
  assert.equal(Object.keys(out.perDb.postgres?.tables ?? {}), ['public.t']);
  assert.equal(out.perDb.postgres?.sequences, { 'public.t_id_seq': '1' });
  assert.equal(out.perDb.postgres?.objects, ['index public.t_pkey']);
  assert.is(out.perDb.app1, db, 'other databases untouched');
  assert.is(Object.keys(fp.perDb.postgres?.tables ?? {}).length, 2, 'the input is not changed');
});

test.run();
