import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunResult } from '../../support/cli/binary.ts';
import { runUntil } from '../../support/cli/run-until.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { replicasOf, selectorOf, validateJson, viaService } from '../../support/dump-checks.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';
import {
  checksumDiff,
  claimChecksums,
  hintBitsOnly,
  hostUserFiles,
  isUserRelationFile,
  pageDiff,
  type Checksums,
} from '../../support/kube/claim-checksums.ts';
import { podName, podSql, recordedState, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { SEED_ROLES } from '../../support/pg/seed.ts';
import {
  assertWritesPresent,
  committedWrites,
  countWrites,
  waitForWrites,
  withoutWrites,
} from '../../support/pg/writes.ts';
import { waitFor } from '../../support/process.ts';
import { assertNoSecret, deployCase, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 14, acceptance 1 for the pairs that dump.test.ts does not run: seed 000's official-image Deployment from 13
// to a new 15 instance and from 15 to a new 17 instance, side by side (a namespace each), with the old instance's
// data files checksummed with its server stopped, before the dump and after the upgrade.
const test = suite(
  "upgrade --method dump: seed 000's Deployment 13 → 15 and 15 → 17, the old instance's files unchanged",
);
const PASSWORD = 'Dump-Majors-S3cret';
const APP = 'postgres-app';
const outputs: RunResult[] = [];
const CASES: Deployed[] = [
  [13, 15],
  [15, 17],
].map(([from, to]) => ({
  name: `official ${from} → ${to} by dump`,
  file: 'majors',
  flavour: 'official',
  from: from as number,
  to: to as number,
  method: 'link',
  ns: uniqueNamespace(`dump-${from}-${to}`),
  pod: '',
}));
const both = (fn: (c: Deployed) => Promise<void>) => Promise.all(CASES.map(fn));
/** Checksums of the source's files, each taken with its server stopped: before the dump, and once the upgrade is done. */
const sums = new Map<
  string,
  {
    before?: Checksums;
    after?: Checksums;
    interruptedAt?: string;
    files?: Map<string, Buffer>;
    names?: Map<string, string>;
  }
>();

/** `base/<db oid>/<filenode>` → `database.relation (relkind)`, to name a user relation file that differs (it reads pg_class only, a catalog). */
async function relationNames(sql: (db: string, q: string) => Promise<string>): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const dbs = (await sql('postgres', 'SELECT oid, datname FROM pg_database WHERE datallowconn'))
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  for (const [oid, db] of dbs) {
    for (const l of (
      await sql(db as string, 'SELECT relfilenode, relname, relkind FROM pg_class WHERE relfilenode >= 16384')
    )
      .trim()
      .split('\n')) {
      const [node, rel, kind] = l.split('\t');
      names.set(`base/${oid}/${node}`, `${db}.${rel} (${kind})`);
    }
  }
  return names;
}

/** Waits until the source Deployment's pods are gone (its server stopped and its volume released). */
async function sourceGone(cp: ControlPlane, ns: string): Promise<void> {
  await waitFor(
    `the pods of deploy/postgres in ${ns} gone`,
    async () =>
      (await cp.kubectl(['-n', ns, 'get', 'pods', '-l', 'k8s-app=postgres', '-o', 'name'])).stdout.trim() === '',
    180_000,
  );
}

// The official image's data: UID 999, PGDATA /var/lib/postgresql/data/pgdata on claim `pgdata` (its subdirectory pgdata).
const sourceFiles = (cp: ControlPlane, ns: string) => claimChecksums(cp, ns, 'pgdata', 999, 'pgdata');

test("set up: two of seed 000's Deployments, on 13 and on 15, seeded (an md5 role among them), their applications writing", async () => {
  const { cp } = await sharedEnv();
  await both(async (c) => {
    await deployCase(cp, c, PASSWORD);
    assert.ok(c.before && Object.keys(c.before.perDb).length >= 4, c.name);
  });
});

// The application writes until the plugin stops it, so the "before" sums are taken once nothing writes: the plugin is
// interrupted (SIGINT) right after it has scaled the applications down (nothing writes then), the source stopped
// and summed, started again, and the plugin re-run: it resumes from its record, the applications staying down.
test("the plugin interrupted once the applications are down; the source's files summed with its server stopped", async () => {
  const { cp } = await sharedEnv();
  await both(async (c) => {
    const first = await runUntil(
      cp,
      ['upgrade', '-n', c.ns, '--to', String(c.to), '--method', 'dump', '-y'],
      /✔ Scale the applications down/,
      async (kill) => kill('SIGINT'),
    );
    outputs.push({ code: first.code ?? -1, stdout: first.out, stderr: '' } as RunResult);
    assert.is(first.code, 130, `${c.name}: ${first.out}`);
    assert.match(
      first.out,
      `kubectl pgupgrade upgrade -n ${c.ns} deploy/postgres --to ${c.to} --method dump`,
      'it says how to resume',
    );
    const rec = JSON.parse(
      (
        await cp.kubectl([
          '-n',
          c.ns,
          'get',
          'configmap',
          'pgupgrade-dump-postgres',
          '-o',
          'jsonpath={.data.state\\.json}',
        ])
      ).stdout,
    ) as { phase: string };
    // The SIGINT lands after the applications' ✔; the load may have recorded its start by then (a re-run redoes it from empty).
    assert.ok(['apps-down', 'load-started'].includes(rec.phase), `${c.name}: interrupted at ${rec.phase}`);
    assert.is(await replicasOf(cp, c.ns, `deploy/${APP}`), 0, 'the application is down');
    await cp.kubectl(['-n', c.ns, 'scale', 'deploy/postgres', '--replicas=0']);
    await sourceGone(cp, c.ns);
    sums.set(c.ns, {
      before: await sourceFiles(cp, c.ns),
      interruptedAt: rec.phase,
      files: await hostUserFiles(cp, c.ns, 'pgdata', 'pgdata'),
    });
    await cp.kubectl(['-n', c.ns, 'scale', 'deploy/postgres', '--replicas=1']);
    const pod = await podName(cp, c.ns, 'k8s-app=postgres');
    await waitReady(cp, c.ns, pod);
    (sums.get(c.ns) as { names?: Map<string, string> }).names = await relationNames(podSql(cp, c.ns, pod, 'admin'));
  });
});

test('the re-run resumes and completes: every committed write there, equal fingerprints, every role logs in through the Service, the application back', async () => {
  const { cp } = await sharedEnv();
  await both(async (c) => {
    const r = await upgradeCli(cp, ['-n', c.ns, '--to', String(c.to), '--method', 'dump', '-y', '-o', 'json'], outputs);
    assert.is(r.code, 0, `${c.name}: ${r.stdout}\n${r.stderr}`);
    const rep = JSON.parse(r.stdout) as {
      newInstance: string;
      fingerprint: { equal: boolean };
      validation: { summary: { fail: number } };
    };
    assert.is(rep.newInstance, `Deployment/postgres-v${c.to}`);
    assert.ok(rep.fingerprint.equal, c.name);
    assert.is(rep.validation.summary.fail, 0, `${c.name}: the upgrade ends with validate's checks, all passing`);
    assert.is((await recordedState(cp, c.ns))?.phase, 'done');
    assert.equal(
      await selectorOf(cp, c.ns, 'postgres'),
      { 'pgupgrade.kubectl.io/instance': `postgres-v${c.to}` },
      'the Service is cut over',
    );
    assert.is(await replicasOf(cp, c.ns, 'deploy/postgres'), 0, 'the old instance is scaled to 0');
    assert.is(await replicasOf(cp, c.ns, `deploy/${APP}`), 1, 'the application is back');
    const pod = await podName(cp, c.ns, `pgupgrade.kubectl.io/instance=postgres-v${c.to}`);
    const sql = podSql(cp, c.ns, pod, 'admin');
    assert.is(Math.floor(Number((await sql('postgres', 'show server_version_num')).trim()) / 10000), c.to);
    // 13 stores the superuser's password as md5 (its default); the new instance's initdb hashes its Secret's as SCRAM.
    assert.equal(
      compareFingerprints(withoutWrites(c.before as Fingerprint), withoutWrites(await takeFingerprint(sql)), {
        extensionUpdates: true,
      }),
      c.from < 14 ? ['role admin: password md5 → scram-sha-256'] : [],
      c.name,
    );
    const writes = await waitForWrites(cp, c.ns, { app: APP, major: c.to, moreThan: 3 });
    assert.ok((countWrites(writes).byMajor[c.from] ?? 0) > 10, `${c.name}: ${JSON.stringify(countWrites(writes))}`);
    await assertWritesPresent(sql, await committedWrites(cp, c.ns, APP));
    // A new connection through the Service's DNS name, each seeded role with its own method (admin's is the plugin's own).
    for (const role of [SEED_ROLES.md5, SEED_ROLES.scram]) {
      assert.match(
        await viaService(cp, c.ns, pod, 'postgres', role, 'app2'),
        new RegExp(`^${c.to}\\d{4}$`),
        `${c.name}: ${role.name} reaches ${c.to} through the Service`,
      );
    }
  });
});

// What a running server legitimately rewrites is left out of the equality: pg_control (global/), the WAL (pg_wal/),
// pg_xact, the statistics (pg_stat*/), pg_internal.init, and the catalogs (filenodes < 16384: the dump's reads set
// their hint bits, autovacuum writes pg_statistic). The files of the users' relations (base/<db>/<filenode ≥ 16384>,
// every fork) must be byte-identical, with one exception that PostgreSQL makes itself and that is no change of data:
// hint bits. The fingerprint before the first sums read every row and set the hint bits that a reader sets; but a row
// that the seed's foreign-key check locked (FOR KEY SHARE) carries its locker's xid as xmax, and an MVCC read leaves
// that be: only HeapTupleSatisfiesVacuum's callers (VACUUM, ANALYZE, pruning) mark it HEAP_XMAX_INVALID. When the
// server's own autovacuum analyzes such a table while the dump reads the old instance, those bits appear. So a user
// file that differs passes only if every difference is a hint bit added to a tuple's t_infomask (hintBitsOnly), and
// each such file is printed; anything else (a tuple, a page header, a line pointer, another fork) fails.
test("the old instance's user data files are unchanged (but for hint bits), summed with its server stopped before the dump and after the upgrade", async () => {
  const { cp } = await sharedEnv();
  await both(async (c) => {
    await sourceGone(cp, c.ns);
    const s = sums.get(c.ns) ?? (assert.unreachable(`${c.name}: no sums before`) as never);
    s.after = await sourceFiles(cp, c.ns);
    const diff = checksumDiff(s.before as Checksums, s.after);
    const userFiles = [...s.after.keys()].filter(isUserRelationFile).length;
    console.log(
      `\n  ${c.name} (interrupted at ${s.interruptedAt}): ${s.after.size} files summed, ${userFiles} of user relations; of those, changed: ` +
        `${diff.user.length}; other files changed (not compared): ${diff.other.join(', ') || 'none'}`,
    );
    const now = diff.user.length ? await hostUserFiles(cp, c.ns, 'pgdata', 'pgdata') : new Map<string, Buffer>();
    const changed: string[] = [];
    for (const f of diff.user) {
      const was = s.files?.get(f) ?? Buffer.alloc(0);
      const is = now.get(f) ?? Buffer.alloc(0);
      const name = s.names?.get(f) ?? '?';
      const hints = /\((r|t|m)\)$/.test(name)
        ? hintBitsOnly(was, is)
        : { ok: false as const, why: "not a table's main fork" };
      console.log(
        `  ${c.name}: ${f} = ${name}: ${hints.ok ? `hint bits only: ${hints.bits.join(', ')} added on ${hints.tuples} tuples` : hints.why}; ${pageDiff(was, is)}`,
      );
      if (!hints.ok) changed.push(`${f} (${name}): ${hints.why}`);
    }
    assert.ok(userFiles > 20, `${c.name}: ${userFiles} user relation files`);
    assert.equal(changed, [], `${c.name}: the old instance's user data files changed`);
  });
});

test('validate -o json passes on each new instance', async () => {
  const { cp } = await sharedEnv();
  await both(async (c) => {
    const v = await validateJson(cp, c.ns, outputs);
    assert.is(v.code, 0, `${c.name}: ${JSON.stringify(v.checks, null, 1)}\n${v.stderr}`);
    assert.match(v.checks.find((x) => x.id === 'server')?.found ?? '', new RegExp(`PostgreSQL ${c.to}\\.\\d+, Ready`));
  });
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 6);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
