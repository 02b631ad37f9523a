import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { REDACT_SH, redactSecrets } from '../../../src/postgres/redact.ts';
import { START_SCRIPT } from '../../../src/postgres/probe-scripts.ts';
import { UPGRADE_JOB_SCRIPT } from '../../../src/postgres/upgrade-script.ts';

// What pg_upgrade's and pg_restore's logs can hold, each with a secret that must not reach a container's own log.
const SAMPLES = [
  ["CREATE ROLE a PASSWORD 'se''cret';", "se''cret"],
  ["alter role b with encrypted password 'SCRAM-SHA-256$4096:abc$def:ghi';", 'SCRAM-SHA-256'],
  ["CREATE ROLE c PASSWORD E'x\\'y-secret' LOGIN;", 'y-secret'],
  ["pg_restore: error: CREATE USER MAPPING FOR x SERVER s OPTIONS (user 'u', password 'p4ss');", 'p4ss'],
  ["CREATE SUBSCRIPTION s CONNECTION 'host=h password=hunter2 dbname=d' PUBLICATION p;", 'hunter2'],
  ['conninfo postgresql://bob:s3cr3t@db:5432/x', 's3cr3t'],
  ["LINE 1: ALTER ROLE d PASSWORD 'cut short", 'cut short'],
  ["ALTER ROLE x PASSWORD e'lower\\'case-e'", 'case-e'],
  ["CONNECTION 'host=h sslpassword=k3ypass dbname=d'", 'k3ypass'],
  ["PASSWORD 'abc\\' , ERROR: kept here'", 'abc'],
] as const;

/** The shell filter on one line, with the machine's sh and sed (the images' are dash or busybox, and GNU or busybox sed). */
const shRedact = (line: string) =>
  spawnSync('sh', ['-c', `${REDACT_SH}\nredact`], { input: `${line}\n`, encoding: 'utf8' });

test('the shell filter hides what redactSecrets hides, exactly as it does', () => {
  for (const [line, secret] of SAMPLES) {
    const r = shRedact(line);
    assert.is(r.status, 0, r.stderr);
    assert.not.match(r.stdout, secret, line);
    assert.is(r.stdout.trimEnd(), redactSecrets(line), line);
  }
  assert.is(
    shRedact('pg_upgrade: checking for presence of required libraries ok').stdout,
    'pg_upgrade: checking for presence of required libraries ok\n',
  );
  // A LATIN1 database's password is no valid UTF-8: hidden byte by byte, whatever the container's locale.
  const latin1 = spawnSync('sh', ['-c', `${REDACT_SH}\nredact`], {
    input: Buffer.from("PASSWORD 'caf\xe9secret'; password=caf\xe9secret\n", 'latin1'),
    env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
  });
  assert.is(latin1.stdout.toString('latin1'), "PASSWORD '<redacted>'; password=<redacted>\n");
});

test("the Job prints pg_upgrade's logs and the probe the server's log through it, and stays POSIX sh", () => {
  assert.match(UPGRADE_JOB_SCRIPT, 'tail -n 40 "$f" | redact;');
  assert.match(START_SCRIPT, 'tail -n 15 /tmp/pgupgrade-server.log | redact >&2');
  for (const script of [UPGRADE_JOB_SCRIPT, START_SCRIPT]) {
    const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
  }
});

test.run();
