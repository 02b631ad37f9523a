import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../../src/exit-codes.ts';
import type { Cluster, KObject } from '../../../src/k8s/cluster.ts';
import { runJob, verifyOwnJob } from '../../../src/steps/job.ts';

const job = (labels: Record<string, string>, image: string, args: string[]): KObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'pgupgrade-db-to-15', namespace: 'ns', labels },
  spec: { template: { spec: { containers: [{ name: 'upgrade', image, command: ['sh', '-c', 'x'], args }] } } },
});
const OWN = { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade', 'pgupgrade.kubectl.io/role': 'upgrade' };
const wanted = job(OWN, 'tianon/postgres-upgrade:13-to-15', ['/data']);

test("an earlier run's Job of the same work is taken", () => {
  verifyOwnJob(job({ ...OWN, 'controller-uid': 'u' }, 'tianon/postgres-upgrade:13-to-15', ['/data']), wanted);
});

test("a Job of the expected name without the plugin's labels, or with another image or arguments, stops the run", () => {
  for (const [found, why] of [
    [job({}, 'tianon/postgres-upgrade:13-to-15', ['/data']), "lacks the plugin's labels"],
    [job(OWN, 'evil/image:1', ['/data']), 'image, command or arguments differ'],
    [job(OWN, 'tianon/postgres-upgrade:13-to-15', ['/elsewhere']), 'image, command or arguments differ'],
  ] as const) {
    const err = (() => {
      try {
        verifyOwnJob(found, wanted);
      } catch (e) {
        return e;
      }
    })();
    assert.instance(err, CliError);
    assert.match(
      (err as CliError).message,
      `Job ns/pgupgrade-db-to-15 exists but is not the one this run would create (it${why.startsWith('lacks') ? ' ' : 's '}${why}`,
    );
  }
});

test("a failed Job's log (pg_upgrade's own logs, quoting the failed statement) reaches the task output and the error with every password hidden", async () => {
  const lines = [
    'pgupgrade: pg_upgrade failed (exit 1); its logs:\n',
    '== /data/pg_upgrade_output.d/log/pg_upgrade_dump_16384.log\n',
    "pg_restore: error: Command was: CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'app', PassWord 'Mapp1ng-S3cret');\n",
    "Command was: CREATE SUBSCRIPTION s CONNECTION 'host=db password=Subscr1pt-S3cret dbname=app' PUBLICATION p WITH (connect = false);\n",
  ];
  // An earlier run's Job, found (and taken) under its name: it failed.
  const cluster = {
    readObject: async () => ({
      ...wanted,
      status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] },
    }),
    listPods: async () => [{ metadata: { name: 'job-pod' }, phase: 'Running', ready: true, spec: { containers: [] } }],
    podState: async () => ({ phase: 'Failed' }),
    followLog: (_ns: string, _pod: string, _c: string, onText: (t: string) => void) => {
      for (const l of lines) onText(l);
      return { done: Promise.resolve(), abort: () => undefined };
    },
    podLog: async () => lines.join(''),
  } as unknown as Cluster;
  const shown: string[] = [];
  const out = await runJob(cluster, 'ns', wanted, (t) => shown.push(t), 5_000);
  assert.is(out.ok, false);
  for (const text of [out.log, shown.join('')]) {
    for (const secret of ['Mapp1ng-S3cret', 'Subscr1pt-S3cret'])
      assert.not.ok(text.includes(secret), `${secret} in ${text}`);
    assert.match(text, "PassWord '<redacted>'");
    assert.match(text, 'password=<redacted> dbname=app');
  }
  assert.match(out.log, 'pg_upgrade_dump_16384.log', 'the rest of the log is kept');
});

test.run();
