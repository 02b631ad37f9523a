import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareFingerprints, parseRows, tableSql, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { modeFlag } from '../../support/pg/upgrade.ts';

const fp = (): Fingerprint => ({
  databases: { app: { encoding: 'UTF8', collate: 'C.UTF-8', ctype: 'C.UTF-8' } },
  roles: { app_md5: 'md5', postgres: 'scram-sha-256' },
  perDb: {
    app: {
      tables: { 'public.t': { rows: 3, checksum: '99' } },
      sequences: { 'public.s': '7' },
      extensions: { hstore: '1.7' },
      objects: ['view public.v'],
      largeObjects: { count: 1, checksum: '5' },
    },
  },
});

test('equal fingerprints compare empty', () => {
  assert.equal(compareFingerprints(fp(), fp()), []);
});

test('each kind of change is one readable line', () => {
  const b = fp();
  b.databases.app!.collate = 'en_US.UTF-8';
  b.roles.app_md5 = 'scram-sha-256';
  b.perDb.app!.tables['public.t'] = { rows: 2, checksum: '1' };
  b.perDb.app!.tables['public.new'] = { rows: 0, checksum: '0' };
  b.perDb.app!.sequences['public.s'] = '8';
  b.perDb.app!.extensions.hstore = '1.8';
  b.perDb.app!.objects = [];
  assert.equal(compareFingerprints(fp(), b), [
    'database app: {"encoding":"UTF8","collate":"C.UTF-8","ctype":"C.UTF-8"} → {"encoding":"UTF8","collate":"en_US.UTF-8","ctype":"C.UTF-8"}',
    'role app_md5: password md5 → scram-sha-256',
    'database app: table public.t: rows 3 → 2',
    'database app: table public.new new after',
    'database app: sequence public.s: 7 → 8',
    'database app: extension hstore: 1.7 → 1.8',
    'database app: view public.v missing after',
  ]);
});

test('a logical restore may update extension versions, never drop an extension', () => {
  const b = fp();
  b.perDb.app!.extensions = { hstore: '1.8' };
  assert.equal(compareFingerprints(fp(), b, { extensionUpdates: true }), []);
  b.perDb.app!.extensions = {};
  assert.equal(compareFingerprints(fp(), b, { extensionUpdates: true }), [
    'database app: extension hstore missing after',
  ]);
});

test('psql output parsing and the table checksum query', () => {
  assert.equal(parseRows('a\tb\nc\td\n'), [
    ['a', 'b'],
    ['c', 'd'],
  ]);
  assert.match(tableSql('public."T"'), 'FROM public."T" t');
});

test('copy mode has no flag before PostgreSQL 16', () => {
  assert.equal(modeFlag('copy', 15), []);
  assert.equal(modeFlag('copy', 17), ['--copy']);
  assert.equal(modeFlag('link', 15), ['--link']);
  assert.equal(modeFlag('clone', 18), ['--clone']);
});

test.run();
