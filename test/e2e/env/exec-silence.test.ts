import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { applyObjects, createNamespace, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { createContext } from '../../../src/context.ts';
import { withHeartbeat } from '../../../src/postgres/heartbeat.ts';

// The plugin's own exec (src/k8s/client.ts) through the real apiserver and the node agent: long work that keeps
// talking runs to its end however long it takes; work that says nothing for the silence limit is taken as hung.
// The limit is shortened here (PGUPGRADE_EXEC_SILENCE_MS) so that the test takes seconds: with the old total
// timeout, the first case failed after the limit like the second.
/** It lowers the silence limit in this process's environment, which every other file's execs would inherit. */
export const runsAlone = 'sets PGUPGRADE_EXEC_SILENCE_MS for the whole process';
const test = suite('exec: a timeout on silence, not on total time');
const ns = uniqueNamespace('exec-silence');

test('a script with a heartbeat outlives the silence limit; a silent one is stopped with a message', async () => {
  const { cp } = await sharedEnv();
  await createNamespace(cp, ns);
  await applyObjects(cp, [
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'worker', namespace: ns },
      spec: {
        containers: [
          { name: 'main', image: 'busybox', command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'] },
        ],
      },
    },
  ]);
  await waitReady(cp, ns, 'worker');
  const before = process.env.PGUPGRADE_EXEC_SILENCE_MS;
  process.env.PGUPGRADE_EXEC_SILENCE_MS = '4000';
  try {
    const cluster = await createContext(
      { kubeconfig: cp.kubeconfig, namespace: ns, debug: false, color: false, yes: true },
      { ...process.env, KUBECONFIG: cp.kubeconfig },
    ).cluster();
    const t = Date.now();
    const long = await cluster.exec(ns, 'worker', 'main', [
      'sh',
      '-c',
      withHeartbeat('sleep 9; echo finished; exit 7', 1),
    ]);
    assert.ok(Date.now() - t >= 9000, 'it ran longer than the silence limit');
    assert.is(long.exitCode, 7, "the script's own exit code");
    assert.is(long.stdout.trim(), 'finished');
    assert.is(long.stderr, '', 'heartbeat lines are dropped from stderr');
    // The heartbeat's loop is a copy of the script's shell: none may outlive it (in a database container the
    // postmaster, pid 1, would inherit it and take its end for a crashed backend).
    const leftovers = await cluster.exec(ns, 'worker', 'main', [
      'sh',
      '-c',
      'ps -eo args= | grep -c "[p]grade_t=" || true',
    ]);
    assert.is(leftovers.stdout.trim(), '0', 'the heartbeat left no process behind');
    let message = '';
    await cluster.exec(ns, 'worker', 'main', ['sh', '-c', 'sleep 9']).catch((e: Error) => (message = e.message));
    assert.match(message, /said nothing for 4 s; taken as hung/);
  } finally {
    if (before === undefined) delete process.env.PGUPGRADE_EXEC_SILENCE_MS;
    else process.env.PGUPGRADE_EXEC_SILENCE_MS = before;
  }
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
