import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  dumpSourceFindings,
  dumpSourceNotes,
  keepsSourceRunning,
  NO_VOLUME,
  sourceDataBytes,
  SUPERUSER_SECRET_KEY,
  superuserSecretName,
} from '../../../src/postgres/dump-source.ts';

const test = suite(
  'a dump source without a volume or with its password in its manifest: kept running, a Secret of its own, and why it matters',
);

test('a source without a volume records NO_VOLUME and is left running after the cutover; one with a PVC is not', () => {
  assert.is(NO_VOLUME, '');
  assert.ok(keepsSourceRunning({ pvc: NO_VOLUME }));
  assert.not.ok(keepsSourceRunning({ pvc: 'pgdata' }));
});

test("the new instance's Secret: <target>-superuser, key password", () => {
  assert.is(superuserSecretName('postgres-v15'), 'postgres-v15-superuser');
  assert.is(SUPERUSER_SECRET_KEY, 'password');
});

test("the data's size is the sum of pg_database_size, a missing one counted as nothing", () => {
  assert.is(
    sourceDataBytes([{ sizeBytes: 8 * 2 ** 20 }, { sizeBytes: 2 ** 30 }, { sizeBytes: Number.NaN }]),
    2 ** 30 + 8 * 2 ** 20,
  );
  assert.is(sourceDataBytes([]), 0);
});

test("check's findings: a warning for each, with what --method dump does about it; none for a source on a PVC with a Secret", () => {
  const where = 'Deployment shop/postgres';
  const both = dumpSourceFindings({
    where,
    pgdata: '/var/lib/postgresql/data',
    hasVolume: false,
    inlinePassword: 'POSTGRES_PASSWORD',
  });
  assert.equal(
    both.map((f) => [f.id, f.status]),
    [
      ['no-volume', 'warn'],
      ['inline-password', 'warn'],
    ],
  );
  assert.match(
    both[0]?.found ?? '',
    "no volume is mounted at PGDATA /var/lib/postgresql/data: the data lives in the container's writable layer",
  );
  assert.match(both[0]?.fix ?? '', 'the old instance is left running after the cutover');
  assert.match(both[1]?.found ?? '', 'POSTGRES_PASSWORD is written in the manifest');
  assert.match(both[1]?.fix ?? '', 'remove the inline password from your manifests');
  assert.equal(dumpSourceFindings({ where, pgdata: '/x', hasVolume: true }), []);
});

test('the report says where the data and the password were, where they are now, and what to do', () => {
  const notes = dumpSourceNotes({
    source: 'deploy/postgres',
    sourcePvc: NO_VOLUME,
    targetPvc: 'data-postgres-v15',
    cutover: true,
    inlinePassword: 'POSTGRES_PASSWORD',
    createdSecret: { name: 'postgres-v15-superuser', key: 'password' },
  });
  assert.is(notes.length, 3);
  assert.match(notes[0] ?? '', "kept its data in its container's writable layer");
  assert.match(notes[0] ?? '', 'The new instance keeps it on PVC data-postgres-v15');
  assert.match(notes[1] ?? '', 'left running, not scaled to 0');
  assert.match(notes[2] ?? '', 'written in its manifest (POSTGRES_PASSWORD)');
  assert.match(
    notes[2] ?? '',
    'Secret postgres-v15-superuser (key password), which this upgrade created. Remove the inline password from your manifests',
  );
  const noCutover = dumpSourceNotes({
    source: 'deploy/postgres',
    sourcePvc: NO_VOLUME,
    targetPvc: 'd',
    cutover: false,
  });
  assert.match(noCutover[1] ?? '', 'keeps serving (--no-cutover)');
  assert.equal(
    dumpSourceNotes({ source: 'deploy/postgres', sourcePvc: 'pgdata', targetPvc: 'd', cutover: true }),
    [],
    'nothing to say for a PVC and a Secret',
  );
});

test.run();
