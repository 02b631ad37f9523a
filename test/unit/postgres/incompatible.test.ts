import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIncompatible } from '../../../src/postgres/workload.ts';

const test = suite("postgres/workload: a server that refuses another major's data");

const LOG = `2026-12-01 04:50:01.123 UTC [1] FATAL:  database files are incompatible with server
2026-12-01 04:50:01.123 UTC [1] DETAIL:  The data directory was initialized by PostgreSQL version 15, which is not compatible with this version 17.7 (Debian 17.7-1.pgdg120+1).
`;

test("the image's major and the data's are read from the FATAL and DETAIL lines, which are quoted", () => {
  const r = parseIncompatible(`postgresql 04:50:01.00 INFO  ==> ** Starting PostgreSQL **\n${LOG}`);
  assert.equal({ dataMajor: r?.dataMajor, serverMajor: r?.serverMajor }, { dataMajor: 15, serverMajor: 17 });
  assert.match(r?.lines ?? '', 'initialized by PostgreSQL version 15, which is not compatible with this version 17.7');
});

test('9.6-style versions, a downgrade, and other failures are not a bumped image', () => {
  assert.is(parseIncompatible(LOG.replace('version 15,', 'version 9.6,')), undefined);
  assert.is(parseIncompatible(LOG.replace('version 15,', 'version 18,')), undefined, 'a downgrade is another problem');
  assert.is(parseIncompatible('FATAL:  data directory "/var/lib/postgresql/data" has invalid permissions'), undefined);
  assert.is(parseIncompatible(''), undefined);
});

test.run();
