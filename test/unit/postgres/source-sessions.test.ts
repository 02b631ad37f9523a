import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  END_OTHER_SESSIONS_SQL,
  namedEnded,
  parseEnded,
  READ_ONLY_SQL,
  sessionsLeft,
  writableSql,
} from '../../../src/postgres/source-sessions.ts';

const test = suite(
  "the dump's source during the load: the other clients named, their sessions ended, the source read-only and back",
);

const client = (address: string | null, user = 'app', database = 'app1', application = 'psql') => ({
  user,
  database,
  application,
  address,
});

test('named before the downtime: pods that no scaling stops and other addresses (one calling itself kubectl-pgupgrade too), not the stopped applications or the loopback', () => {
  const podsByIp = { '10.0.0.5': 'postgres-app-1', '10.0.0.6': 'reporter', '10.0.0.7': 'postgres-0' };
  const stopped = (pod: string) => pod === 'postgres-app-1';
  const left = sessionsLeft(
    [
      client('10.0.0.5'),
      client('10.0.0.6'),
      client('10.0.0.6', 'app', 'app2'),
      client('10.0.0.6'),
      client('192.168.1.9', 'bi', 'app1'),
      client('127.0.0.1', 'admin', 'postgres'),
      client('::1'),
      client('10.0.0.8', 'admin', 'postgres', 'kubectl-pgupgrade'),
      client(null, 'backup', 'app1'),
    ],
    podsByIp,
    stopped,
  );
  assert.equal(left, [
    'pod reporter (app@app1, app@app2)',
    'address 192.168.1.9 (bi@app1)',
    'address 10.0.0.8 (admin@postgres)',
    "a local socket in the database's pod (backup@app1)",
  ]);
  assert.equal(sessionsLeft([client('10.0.0.5')], podsByIp, stopped), []);
});

test('read-only for every new transaction, reloaded; writable again as the source had it', () => {
  assert.is(
    READ_ONLY_SQL,
    "ALTER SYSTEM SET default_transaction_read_only = 'on';\nSELECT pg_catalog.pg_reload_conf();",
  );
  assert.is(writableSql([]), 'ALTER SYSTEM RESET default_transaction_read_only;\nSELECT pg_catalog.pg_reload_conf();');
  assert.is(
    writableSql([{ name: 'default_transaction_read_only', value: 'on' }]),
    "ALTER SYSTEM SET default_transaction_read_only = E'on';\nSELECT pg_catalog.pg_reload_conf();",
    'a source that was read-only by its own setting stays so',
  );
});

test("the other sessions ended: client backends only, never this one, none spared by the application_name it gives itself, every function pg_catalog's", () => {
  const sql = END_OTHER_SESSIONS_SQL;
  assert.match(sql, 'filter (where pg_catalog.pg_terminate_backend(a.pid))');
  assert.match(sql, "a.backend_type = 'client backend'");
  assert.match(sql, 'a.pid <> pg_catalog.pg_backend_pid()');
  assert.not.match(sql, 'application_name', 'a client that names itself kubectl-pgupgrade is ended like any other');
  assert.match(sql, 'from pg_catalog.pg_stat_activity a');
  const unqualified = sql.replace(/pg_catalog\.\w+\(/g, '').match(/\b(?!coalesce\b|filter\b|where\b|from\b)[a-z_]+\(/g);
  assert.equal(unqualified, null, `unqualified: ${unqualified}`);
});

test("what was ended, each pod said by name; a new session's default tells whether the server reads the new configuration", () => {
  const r = parseEnded(
    '{"read_only" : "on", "ended" : ["app@app1 from 10.0.0.6", "bi@app1 from 192.168.1.9", "x@y from local socket"]}',
  );
  assert.ok(r.readOnly);
  assert.equal(namedEnded(r.ended, { '10.0.0.6': 'reporter' }), [
    'app@app1 from pod reporter',
    'bi@app1 from 192.168.1.9',
    'x@y from local socket',
  ]);
  assert.equal(parseEnded('{"read_only":"off","ended":[]}'), { readOnly: false, ended: [] });
});

test.run();
