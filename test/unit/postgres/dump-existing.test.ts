import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nonEmptyTarget } from '../../../src/postgres/dump-existing.ts';

const test = suite('nonEmptyTarget: why an existing --target is refused');

test('lists what the target holds, and what to do', () => {
  const m = nonEmptyTarget('Deployment ns/pg14', 'databases leftover; roles someone', 'admin');
  assert.is(
    m,
    'Deployment ns/pg14 is not empty (databases leftover; roles someone): a dump is loaded into an empty instance only; drop those as its superuser, or name an empty instance',
  );
});

test("a database named as the superuser is explained: the official image's POSTGRES_DB default", () => {
  for (const content of [
    'databases admin',
    'databases admin, leftover; relations in database postgres 3',
    'databases "Admin"',
  ]) {
    const su = content.includes('"Admin"') ? 'Admin' : 'admin';
    assert.match(
      nonEmptyTarget('Deployment ns/pg14', content, su),
      `(database ${su} is probably the one the image made at its first start, named by POSTGRES_DB`,
    );
  }
  assert.not.match(
    nonEmptyTarget('Deployment ns/pg14', 'databases administration; roles admin', 'admin'),
    'POSTGRES_DB',
  );
});

test.run();
