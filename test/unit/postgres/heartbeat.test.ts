import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { execSilenceMs } from '../../../src/k8s/silence.ts';
import { heartbeat, heartbeatSeconds, withHeartbeat } from '../../../src/postgres/heartbeat.ts';

const test = suite("the heartbeat of long scripts: often enough for the exec's silence limit, on stderr only");

test('a quarter of the silence limit, at least 1 s, at most 20 s; the default limit gives 20 s', () => {
  assert.is(heartbeatSeconds(120_000), 20);
  assert.is(heartbeatSeconds(600_000), 20);
  assert.is(heartbeatSeconds(40_000), 10);
  assert.is(heartbeatSeconds(5_000), 1);
  assert.is(heartbeatSeconds(2_000), 1);
  assert.is(heartbeatSeconds(100), 1);
  assert.is(heartbeatSeconds(Number.NaN), 20);
  assert.is(heartbeatSeconds(0), 20);
});

test("withHeartbeat beats at the interval of the exec's limit, PGUPGRADE_EXEC_SILENCE_MS when set", () => {
  assert.match(withHeartbeat('true', 3_000), '-ge 1 ]');
  assert.match(withHeartbeat('true', 120_000), '-ge 20 ]');
  const was = process.env.PGUPGRADE_EXEC_SILENCE_MS;
  try {
    process.env.PGUPGRADE_EXEC_SILENCE_MS = '2500';
    assert.is(execSilenceMs(), 2_500);
    delete process.env.PGUPGRADE_EXEC_SILENCE_MS;
    assert.is(execSilenceMs(), 120_000);
  } finally {
    if (was === undefined) delete process.env.PGUPGRADE_EXEC_SILENCE_MS;
    else process.env.PGUPGRADE_EXEC_SILENCE_MS = was;
  }
});

test("run by sh: beats on stderr while the script is quiet, stdout is the script's alone, its exit code is kept, nothing is left behind", () => {
  const r = spawnSync('sh', ['-c', `${heartbeat(1)}sleep 3.5; echo HELD; exit 7`], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.is(r.status, 7);
  assert.is(r.stdout, 'HELD\n');
  assert.ok((r.stderr.match(/^pgupgrade: still working$/gm) ?? []).length >= 2, r.stderr);
  // The heartbeat's sleep and subshell are killed and reaped: the shell's exit does not wait on a stray sleep.
  // A shell that waited on the 600 s sleep would be killed by spawnSync's timeout (status null, signal SIGTERM).
  // Fifty times: a TERM that came just before the subshell's wait once held the exit for the whole sleep.
  for (let i = 0; i < 50; i++) {
    const quick = spawnSync('sh', ['-c', `${heartbeat(600)}true`], { encoding: 'utf8', timeout: 60_000 });
    assert.is(quick.signal, null, 'the heartbeat stops with the script');
    assert.is(quick.status, 0);
  }
});

test.run();
