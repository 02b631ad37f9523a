import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadFailure, loadStopped, redactLoadError, RELOAD_NOTE } from '../../../src/commands/upgrade/dump/load.ts';
import { CliError, ExitCode } from '../../../src/exit-codes.ts';
import { cutoverCommand } from '../../../src/commands/upgrade/dump/cutover.ts';
import { TARGET_SQL_SCRIPT } from '../../../src/commands/upgrade/dump/instance.ts';
import { verifyTargetStorage } from '../../../src/commands/upgrade/dump/new-state.ts';
import { stoppedNotes, withStoppedNotes } from '../../../src/commands/upgrade/dump/stopped.ts';
import type { DumpCtx, DumpOptions } from '../../../src/commands/upgrade/dump/ctx.ts';
import type { DumpState } from '../../../src/state/dump-state.ts';

const test = suite('upgrade --method dump: what it says and prints');

test("the load script's exit codes are said in words", () => {
  assert.is(loadFailure(30), 'the target is not empty');
  assert.is(loadFailure(33), 'the source and the target are one server');
  assert.is(loadFailure(41), 'a pg_restore failed');
  assert.is(loadFailure(7), 'exit 7');
  assert.is(loadFailure(137), 'it was killed by signal 9 (SIGKILL: the new pod deleted, or out of memory)');
  assert.is(loadFailure(143), 'it was killed by signal 15');
});

test('a load stopped by anything (the new pod killed, its exec stream broken) fails with exit 1 and says what a re-run does', () => {
  const broken = loadStopped(new Error('exec in ns/postgres-v14-x closed without a status'));
  assert.ok(broken instanceof CliError);
  assert.is(broken.exitCode, ExitCode.failed);
  assert.is(
    broken.message,
    `the dump and restore stopped: exec in ns/postgres-v14-x closed without a status\n${RELOAD_NOTE}`,
  );
  const own = new CliError(
    `the dump and restore stopped: a pg_restore failed (exit 41): …\n${RELOAD_NOTE}`,
    ExitCode.failed,
  );
  assert.is(loadStopped(own), own, "the script's own failure is said once");
  assert.match(
    loadStopped(new CliError('no ready pod of Deployment ns/postgres-v14', ExitCode.failed)).message,
    RELOAD_NOTE,
  );
});

test("--no-cutover prints a JSON merge patch that removes the old selector's keys and sets the new one", () => {
  const cmd = cutoverCommand(
    'db',
    'postgres',
    { selector: { 'k8s-app': 'postgres' }, ports: [{ port: 5432, targetPort: 5432 }] },
    { 'pgupgrade.kubectl.io/instance': 'postgres-v14' },
  );
  assert.is(
    cmd,
    `kubectl -n db patch service postgres --type merge -p '{"spec":{"selector":{"k8s-app":null,"pgupgrade.kubectl.io/instance":"postgres-v14"}}}'`,
  );
});

test('SQL on the new instance: the password from stdin, statements through psql -f (ALTER SYSTEM refuses a transaction block)', () => {
  assert.match(TARGET_SQL_SCRIPT, 'IFS= read -r b');
  assert.match(TARGET_SQL_SCRIPT, 'printf \'%s\\n\' "$3" | psql');
  // psql takes no -c (the session's own options in PGOPTIONS aside).
  assert.not.match(TARGET_SQL_SCRIPT.replace(/PGOPTIONS='[^']*'/, ''), ' -c ');
});

test('a failed statement that pg_restore quotes shows no password, in any case or connection string', () => {
  const said = redactLoadError(
    [
      `pg_restore: error: could not execute query: ERROR: x Command was: CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'app', password 's3cret');`,
      `CREATE SUBSCRIPTION sub CONNECTION 'host=db port=5432 password=hunter2 dbname=app' PUBLICATION p;`,
      `CONNECTION 'host=db password=''sp ace'' dbname=app' and postgresql://app:t0ps3cret@db/app`,
      `ALTER ROLE app PASSWORD 'SCRAM-SHA-256$4096:abc' and alter role b password 'md5abc'`,
    ].join('\n'),
  );
  for (const secret of ['s3cret', 'hunter2', 'sp ace', 't0ps3cret', 'SCRAM-SHA-256$4096', 'md5abc'])
    assert.not.ok(said.includes(secret), `${secret} in: ${said}`);
  assert.match(said, "OPTIONS (user 'app', password '<redacted>')");
  assert.match(said, "'host=db port=5432 password=<redacted> dbname=app'");
  assert.match(said, "PASSWORD '<redacted>'");
  assert.match(said, 'postgresql://app:<redacted>@db/app');
});

test("--storage-class must name a StorageClass of the cluster, --size be no smaller than the source PVC's request: else exit 2, before any change", async () => {
  const asked: string[] = [];
  const ctx = {
    d: { namespace: 'ns', pvc: { metadata: { name: 'data-pg-0' }, accessModes: [], requestBytes: 2 ** 30 } },
    cluster: {
      storageClassProvisioner: async (name: string) => (
        asked.push(name), name === 'fast' ? 'csi.example.com' : undefined
      ),
    },
  } as unknown as DumpCtx;
  const refusal = (opts: Partial<DumpOptions>) =>
    verifyTargetStorage(ctx, opts as DumpOptions).then(
      () => 'taken',
      (e: unknown) => {
        assert.instance(e, CliError);
        assert.is((e as CliError).exitCode, ExitCode.usage);
        return (e as Error).message;
      },
    );
  assert.match(
    await refusal({ storageClass: 'fsat' }),
    '--storage-class fsat: the cluster has no StorageClass of that name',
  );
  assert.match(await refusal({ storageClass: 'fsat' }), 'kubectl get storageclass');
  assert.is(await refusal({ storageClass: 'fast', size: '1Gi' }), 'taken');
  assert.match(
    await refusal({ storageClass: 'fast', size: '500Mi' }),
    '--size 500Mi is smaller than the 1Gi that the source PVC ns/data-pg-0 requests',
  );
  assert.is(await refusal({}), 'taken');
  assert.equal(asked, ['fsat', 'fsat', 'fast'], 'the class is read only when named, and after the size is judged');
});

// Issue 24, 4.7 and 4.5: a run that stopped part-way said nothing of the target's fsync off or the source read-only.
test('a run stopped during the load says fsync and full_page_writes are off on the target, and that the source is read-only, with the commands', () => {
  const state = {
    workload: { kind: 'Deployment', name: 'postgres', replicas: 1 },
    to: 14,
    phase: 'load-started',
    targetBefore: [],
    sourceBefore: [],
    target: { kind: 'Deployment', name: 'pg14', container: 'postgres', superuser: 'admin' },
  } as unknown as DumpState;
  const ctx = { d: { namespace: 'db' }, state } as unknown as DumpCtx;
  const err = withStoppedNotes(
    new CliError('the dump and restore stopped: a pg_restore failed (exit 41)', ExitCode.failed),
    stoppedNotes(ctx),
  ) as CliError;
  assert.is(err.exitCode, ExitCode.failed);
  const [first, tuned, readOnly] = err.message.split('\n');
  assert.is(first, 'the dump and restore stopped: a pg_restore failed (exit 41)');
  assert.match(tuned ?? '', 'fsync and full_page_writes are off on deploy/pg14');
  assert.match(
    tuned ?? '',
    'A resume puts them back after the load (kubectl pgupgrade upgrade -n db deploy/postgres --to 14 --method dump)',
  );
  assert.match(tuned ?? '', 'kubectl -n db exec deploy/pg14 -c postgres -- psql');
  assert.match(readOnly ?? '', 'The source deploy/postgres is read-only for every new transaction');
  assert.match(
    readOnly ?? '',
    '--rollback makes it writable again (kubectl pgupgrade upgrade -n db deploy/postgres --rollback)',
  );
  const done = { ...ctx, state: { ...state, phase: 'done' } } as unknown as DumpCtx;
  const plain = new Error('x');
  assert.is(withStoppedNotes(plain, stoppedNotes(done)), plain, 'nothing left changed: the error as it was');
});

test.run();
