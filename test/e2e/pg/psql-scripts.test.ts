import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { parsePerDatabase } from '../../../src/postgres/facts.ts';
import { HELD_PSQL_SCRIPT, PSQL_SCRIPT, psqlStdin } from '../../../src/postgres/psql-scripts.ts';
import { ANALYZE_SCRIPT } from '../../../src/postgres/upgrade-script.ts';
import {
  initCluster,
  makeVolume,
  runOn,
  startServer,
  TEST_SUPERUSER_PASSWORD,
  type PgServer,
} from '../../support/pg/server.ts';
import { onTeardown } from '../../support/teardown.ts';

// The plugin's psql scripts, run by a real sh and psql against a real server, with the names and passwords that
// broke them: a database name that psql would read as a connection string, names and a password holding newlines.
const test = suite('psql scripts: names are only names, secrets arrive whole');

const MAJOR = 15;
let server: PgServer;
let volume = '';
let hits = 0;
let listenerPort = 0;
const names: string[] = [];
// A password that ends with a newline, as `kubectl create secret --from-file` leaves it, with one inside too.
const PASSWORD = 'first-line\nsecond line\n';

async function listener(): Promise<number> {
  const srv = net.createServer((s) => {
    hits++;
    s.destroy();
  });
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
  onTeardown(() => new Promise<void>((res) => srv.close(() => res())));
  return (srv.address() as net.AddressInfo).port;
}

function run(script: string, args: string[], password: string, dbs: string[]): Promise<string> {
  return runOn([MAJOR], volume, ['sh', '-c', script, 'sh', ...args], {}, psqlStdin(password, dbs));
}

test('set up: a server, a listener of our own, hostile database names, a role whose password ends with a newline', async () => {
  volume = makeVolume('psqlscripts');
  onTeardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  await initCluster(MAJOR, volume);
  server = await startServer(MAJOR, volume);
  onTeardown(() => server.stop());
  listenerPort = await listener();
  names.push(
    `host=127.0.0.1 port=${listenerPort} dbname=x`,
    `postgresql://127.0.0.1:${listenerPort}/x`,
    'two\nlines',
    'ends with a newline\n',
    'plain',
  );
  for (const n of names) await server.sql('postgres', `CREATE DATABASE "${n}"`);
  await server.sql('postgres', `CREATE ROLE nl SUPERUSER LOGIN PASSWORD E'${PASSWORD.replace(/\n/g, '\\n')}'`);
});

test('PSQL_SCRIPT reaches each database by its name, with the whole password; the listener sees no connection', async () => {
  const out = parsePerDatabase(
    await run(PSQL_SCRIPT, ['nl', String(server.port), `select to_json(current_database())`], PASSWORD, names),
  );
  assert.equal([...out.keys()], names);
  for (const n of names) assert.is(JSON.parse(out.get(n) ?? 'null'), n);
  assert.is(hits, 0, 'nothing connected to the listener');
});

test('HELD_PSQL_SCRIPT likewise', async () => {
  const raw = await run(
    HELD_PSQL_SCRIPT,
    ['nl', String(server.port), `select to_json(current_database())`],
    PASSWORD,
    names,
  );
  assert.match(raw, /^HELD$/m);
  const out = parsePerDatabase(raw.replace(/^HELD\n/m, ''));
  for (const n of names) assert.is(JSON.parse(out.get(n) ?? 'null'), n);
  assert.is(hits, 0);
});

test('a password cut at its first line is refused by the server: the test can tell', async () => {
  const r = await run(PSQL_SCRIPT, ['nl', String(server.port), 'select 1'], 'first-line', ['plain']).catch(
    (e: Error) => e.message,
  );
  assert.match(r, /password authentication failed/);
});

test('ANALYZE_SCRIPT (vacuumdb --all) with that password visits every database and never the listener', async () => {
  const out = await run(ANALYZE_SCRIPT, ['nl', String(server.port), String(MAJOR)], PASSWORD, []);
  assert.match(out, /Generating default \(full\) optimizer statistics/);
  assert.is(hits, 0);
});

test('JIT is off in their sessions on 15; on a 10 server, which has no jit and refuses it at connect, both still answer', async () => {
  const jit = 'select to_json(current_setting($$jit$$))';
  for (const script of [PSQL_SCRIPT, HELD_PSQL_SCRIPT]) {
    const out = parsePerDatabase(
      (await run(script, ['nl', String(server.port), jit], PASSWORD, ['plain'])).replace(/^HELD\n/m, ''),
    );
    assert.is(JSON.parse(out.get('plain') ?? 'null'), 'off');
  }
  const v10 = makeVolume('psqlscripts10');
  onTeardown(() => fs.rmSync(v10, { recursive: true, force: true }));
  await initCluster(10, v10);
  const old = await startServer(10, v10);
  onTeardown(() => old.stop());
  for (const script of [PSQL_SCRIPT, HELD_PSQL_SCRIPT]) {
    const raw = await run(
      script,
      ['postgres', String(old.port), 'select to_json(current_setting($$server_version_num$$))'],
      TEST_SUPERUSER_PASSWORD,
      ['postgres'],
    );
    assert.match(parsePerDatabase(raw.replace(/^HELD\n/m, '')).get('postgres') ?? '', /"10\d{4}"/);
  }
});

test.run();
