import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { writerApp } from '../../support/fixtures/writer.ts';
import { applyObjects, podSql, resourceVersions } from '../../support/kube/helpers.ts';
import { assertWritesPresent, committedWrites, waitForWrites } from '../../support/pg/writes.ts';
import { waitFor } from '../../support/process.ts';
import { assertNoSecret, deployCase, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';

const test = suite('kubectl pgupgrade upgrade: clients that the selector does not match');
const PASSWORD = 'Clients-E2E-S3cret';
const outputs: RunResult[] = [];

type Obj = {
  kind: string;
  metadata: { labels?: Record<string, string> };
  spec?: {
    template?: { metadata: { labels: Record<string, string> }; spec: { containers: Array<{ command?: string[] }> } };
  };
};

/**
 * A client of the database that carries no `layer=application` label: a writer (one connection per insert), or,
 * with `holder`, one that is connected all the time and writes nothing (a dashboard polling it).
 */
function client(ns: string, name: string, holder = false): Array<Record<string, unknown>> {
  const objects = writerApp({
    namespace: ns,
    name,
    dbHost: 'circleci-postgresql',
    user: 'postgres',
    secretName: 'circleci-postgresql',
    secretKey: 'postgres-password',
    replicas: 1,
  });
  for (const o of objects as Obj[]) {
    if (o.kind !== 'Deployment') continue;
    delete o.metadata.labels?.layer;
    delete o.spec?.template?.metadata.labels.layer;
    const c = o.spec?.template?.spec.containers[0];
    // Sessions of a second, one after the other: connected nearly all the time, and never holding up the database's
    // smart shutdown (SIGTERM) for longer than that.
    if (holder && c)
      c.command = ['/bin/sh', '-c', 'while true; do psql -X -q -c "select pg_sleep(1)" >/dev/null || sleep 1; done'];
  }
  return objects;
}

test('a client named with --app is scaled down and back with the applications; one not named is reported as left running', async () => {
  const { cp } = await sharedEnv();
  const c: Deployed = {
    name: 'Bitnami 13 → 15 with two clients outside the selector',
    file: 'upgrade',
    flavour: 'bitnami',
    from: 13,
    to: 15,
    method: 'link',
    ns: uniqueNamespace('clients-bitnami'),
    pod: '',
  };
  await deployCase(cp, c, PASSWORD);
  await applyObjects(cp, [...client(c.ns, 'reports'), ...client(c.ns, 'psql-client', true)]);
  await waitForWrites(cp, c.ns, { app: 'reports', major: 13, moreThan: 3 });
  const sql = podSql(cp, c.ns, 'circleci-postgresql-0', 'postgres');
  await waitFor(
    'the client that holds a session',
    async () =>
      (await sql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE query = 'select pg_sleep(1)'`)).trim() ===
      '1',
    120_000,
  );

  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--app', 'deploy/reports', '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as { fingerprint: { equal: boolean }; leftRunning: string[] };
  assert.ok(rep.fingerprint.equal);
  assert.match(
    r.stderr,
    /left running +pod psql-client-\S+ \(postgres@postgres\)/,
    'the confirmation names the client left running',
  );
  assert.equal(rep.leftRunning.filter((p) => p.includes('psql-client')).length, 1, JSON.stringify(rep.leftRunning));
  assert.not.ok(
    rep.leftRunning.some((p) => p.includes('reports') || p.includes('frontend')),
    'the stopped ones are not left running',
  );
  const state = JSON.parse(
    (
      await cp.kubectl([
        '-n',
        c.ns,
        'get',
        'configmap',
        'pgupgrade-state-circleci-postgresql',
        '-o',
        'jsonpath={.data.state\\.json}',
      ])
    ).stdout,
  ) as { apps: Array<{ kind: string; name: string; replicas: number }> };
  assert.equal(state.apps.map((a) => `${a.kind}/${a.name}=${a.replicas}`).sort(), [
    'Deployment/circleci-frontend=2',
    'Deployment/reports=1',
  ]);
  const reports = JSON.parse((await cp.kubectl(['-n', c.ns, 'get', 'deploy', 'reports', '-o', 'json'])).stdout) as {
    spec: { replicas: number };
    status: { readyReplicas?: number };
  };
  assert.is(reports.spec.replicas, 1);
  assert.is(reports.status.readyReplicas, 1);
  // Every write each writer saw committed is there, and each writes on 15. (A writer left running would write into
  // the new server before the compare, which then fails loudly: docs/commands/upgrade.md, "Clients outside the selector".)
  for (const app of ['circleci-frontend', 'reports']) {
    await waitForWrites(cp, c.ns, { app, major: 15, moreThan: 2 });
    await assertWritesPresent(sql, await committedWrites(cp, c.ns, app));
  }
});

test('bad --app values exit 2 and change nothing', async () => {
  const { cp } = await sharedEnv();
  const ns = (await cp.kubectl(['get', 'ns', '-o', 'name'])).stdout
    .split('\n')
    .find((n) => n.includes('clients-bitnami'))
    ?.replace('namespace/', '') as string;
  for (const [app, msg] of [
    ['deploy/nope', 'no Deployment nope'],
    ['sts/circleci-postgresql', 'is the database itself'],
    ['reports', 'name a Deployment or StatefulSet'],
  ]) {
    const before = await resourceVersions(cp, ns);
    const r = await upgradeCli(cp, ['-n', ns, '--to', '17', '--app', app as string, '-y'], outputs);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, msg as string);
    assert.is(await resourceVersions(cp, ns), before, 'nothing changed');
  }
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 4);
});

test.run();
