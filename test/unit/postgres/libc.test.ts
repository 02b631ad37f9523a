import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DatabaseFacts, DatabaseInfo } from '../../../src/postgres/facts.ts';
import {
  isCodePointLocale,
  isServerImage,
  libcOf,
  verifyLibcFamily,
  type LibcInput,
} from '../../../src/postgres/libc.ts';
import { imageUid } from '../../../src/postgres/layout.ts';
import { targetImageFor } from '../../../src/postgres/images.ts';
import { parseDatabaseFacts } from '../../../src/postgres/facts.ts';

const test = suite('the C library of the old and the new image (Alpine musl vs glibc)');

const db = (name: string, collate: string, provider: DatabaseInfo['provider'] = 'libc'): DatabaseInfo => ({
  name,
  encoding: 'UTF8',
  collate,
  ctype: collate,
  provider,
  allowConn: name !== 'template0',
  sizeBytes: 8e6,
});
const none = { count: 0, items: [] };
const facts = (libcCollations: DatabaseFacts['libcCollations'] = []): DatabaseFacts => ({
  extensions: [],
  relations: 300,
  regColumns: none,
  postfixOperators: none,
  userConversions: none,
  attverColumns: none,
  libcCollations,
});
const input = (over: Partial<LibcInput> = {}): LibcInput => ({
  oldImage: 'postgres:15-alpine',
  newImage: 'postgres:17',
  to: 17,
  method: 'link',
  bitnamiLayout: false,
  databases: [
    db('postgres', 'en_US.utf8'),
    db('template0', 'en_US.utf8'),
    db('template1', 'en_US.utf8'),
    db('app', 'en_US.utf8'),
  ],
  facts: new Map([
    ['postgres', facts()],
    ['app', facts()],
  ]),
  ...over,
});

test("the family from the image name: alpine tags are musl; official, Bitnami, tianon and Debian tags glibc; a vendor's unknown", () => {
  for (const i of [
    'postgres:15-alpine',
    'postgres:15.4-alpine3.18',
    'docker.io/library/postgres:16-alpine',
    'acme/pg:15-alpine',
    'acme/pg-alpine:15',
  ])
    assert.is(libcOf(i), 'musl', i);
  for (const i of [
    'postgres:17',
    'postgres:17-bookworm',
    'postgres:15.4-bullseye',
    'bitnami/postgresql:16.4.0',
    'bitnamilegacy/postgresql:17.6.0-debian-12-r4',
    'tianon/postgres-upgrade:15-to-17',
    'quay.io/devtron/postgres:14.9.0-debian-11-r31',
  ])
    assert.is(libcOf(i), 'glibc', i);
  assert.is(libcOf('cciserver.azurecr.io/circleci/server-postgres:14.22.4094-4922444'), undefined);
  assert.is(
    libcOf('cciserver.azurecr.io/circleci/server-postgres:14.22.4094-4922444', true),
    'glibc',
    'a Bitnami layout is Debian-based',
  );
  assert.ok(
    isServerImage('postgres:17-alpine') &&
      !isServerImage('tianon/postgres-upgrade:15-to-17') &&
      !isServerImage('acme/pg-upgrade:latest'),
  );
});

test('C, POSIX and C.UTF-8 sort by code point everywhere; en_US.UTF-8 does not', () => {
  for (const l of ['C', 'POSIX', 'C.UTF-8', 'C.utf8', 'c.UTF8']) assert.ok(isCodePointLocale(l), l);
  for (const l of ['en_US.UTF-8', 'en_US.utf8', 'de_DE', 'C.ISO-8859-1']) assert.not.ok(isCodePointLocale(l), l);
});

test('alpine → Debian with en_US databases fails, naming the databases, why, the dump method and the Alpine image', () => {
  const r = verifyLibcFamily(input());
  assert.is(r.status, 'fail');
  assert.is(r.id, 'libc');
  assert.match(r.found, 'postgres:15-alpine (musl) → postgres:17 (glibc)');
  assert.match(r.found, 'database app (LC_COLLATE en_US.utf8)');
  assert.match(r.found, 'database postgres (LC_COLLATE en_US.utf8)');
  assert.not.match(r.found, 'template0');
  assert.match(r.found, 'out of order');
  assert.match(r.fix ?? '', '--image postgres:17-alpine');
  assert.match(r.fix ?? '', '--method dump');
  assert.is(
    verifyLibcFamily(input({ oldImage: 'postgres:15', newImage: 'postgres:17-alpine' })).status,
    'fail',
    'Debian → Alpine too',
  );
  assert.match(
    verifyLibcFamily(input({ oldImage: 'postgres:15', newImage: 'postgres:17-alpine' })).fix ?? '',
    '--image postgres:17 (not -alpine)',
  );
});

test('C/POSIX/C.UTF-8, ICU and builtin databases pass; a column under an en_US collation fails; same family and dump pass', () => {
  const c = [
    db('postgres', 'C'),
    db('template1', 'POSIX'),
    db('app', 'C.UTF-8'),
    db('icu', 'en_US.utf8', 'icu'),
    db('b', 'C.UTF-8', 'builtin'),
  ];
  assert.is(verifyLibcFamily(input({ databases: c })).status, 'pass');
  const col = verifyLibcFamily(
    input({
      databases: c,
      facts: new Map([
        [
          'app',
          facts([
            { name: 'en_US', locale: 'en_US.utf8' },
            { name: 'C', locale: 'C' },
          ]),
        ],
      ]),
    }),
  );
  assert.is(col.status, 'fail');
  assert.match(col.found, 'database app: columns or indexes under COLLATE "en_US" (en_US.utf8)');
  assert.not.match(col.found, '"C"');
  assert.is(verifyLibcFamily(input({ newImage: 'postgres:17-alpine' })).status, 'pass');
  assert.is(verifyLibcFamily(input({ oldImage: 'postgres:15', newImage: 'postgres:17-bookworm' })).status, 'pass');
  assert.is(verifyLibcFamily(input({ method: 'dump' })).status, 'pass');
});

test('an unknown family: warns only beside Alpine; a Bitnami-layout vendor image counts as glibc', () => {
  assert.is(verifyLibcFamily(input({ newImage: 'acme/pg:17' })).status, 'warn');
  assert.is(verifyLibcFamily(input({ oldImage: 'acme/pg:15', newImage: 'acme/pg:17' })).status, 'pass');
  const cci = 'cciserver.azurecr.io/circleci/server-postgres:';
  assert.is(
    verifyLibcFamily(
      input({ oldImage: `${cci}12.16`, newImage: `${cci}14.22.4094-4922444`, bitnamiLayout: true }),
    ).found.includes('the same C library'),
    true,
  );
});

test("the default target keeps an Alpine tag Alpine; the probe runs as the image's postgres (70 on Alpine)", () => {
  assert.is(targetImageFor('postgres:15-alpine', 17), 'postgres:17-alpine');
  assert.is(targetImageFor('postgres:15.4-alpine3.18', 17), 'postgres:17-alpine');
  assert.is(targetImageFor('postgres:15-bookworm', 17), 'postgres:17');
  assert.equal(
    [
      imageUid('official', 'postgres:15-alpine'),
      imageUid('official', 'postgres:15'),
      imageUid('bitnami', 'bitnami/postgresql:16.4.0'),
    ],
    [70, 999, 1001],
  );
});

test("DATABASE_SQL's libc_collations parse; an older answer without them is no collation", () => {
  const base = {
    extensions: [],
    relations: 1,
    reg_columns: [],
    postfix_operators: 0,
    user_conversions: 0,
    attver_columns: 0,
  };
  assert.equal(
    parseDatabaseFacts(JSON.stringify({ ...base, libc_collations: [{ name: 'de', locale: 'de_DE.utf8' }] }))
      .libcCollations,
    [{ name: 'de', locale: 'de_DE.utf8' }],
  );
  assert.equal(parseDatabaseFacts(JSON.stringify(base)).libcCollations, []);
});

test.run();
