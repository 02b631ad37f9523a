// `npm run demo`: the real thing within minutes, and the seed's own case (circleci-pg-upgrade.md). Starts the test
// environment (or reuses the running one), deploys CircleCI Server's Bitnami-shaped PostgreSQL 12 StatefulSet with
// data, builds the binary if needed, runs `kubectl pgupgrade check --to 14` against it, then upgrades it in place
// by link into the vendor's 14 image with the task tree in view and shows the fingerprint comparison and the Helm
// values block. Its application writes all along; afterwards every write it saw committed is checked in the
// database. Run again, it first rolls the database back to 12 (`upgrade --rollback`).
// Usage: node scripts/demo.ts [extra check flags...]
import { spawn, spawnSync } from 'node:child_process';
import { DEMO_APP, DEMO_FROM, DEMO_IMAGE, DEMO_NS, DEMO_POD, DEMO_TO, ensureDemoDatabase } from './lib/demo-db.ts';
import { coldStartSummary, formatDuration } from '../test/support/progress.ts';
import {
  assertWritesPresent,
  countWrites,
  journalDir,
  pollWrites,
  readJournal,
  type RolledBack,
} from '../test/support/pg/writes.ts';

const started = Date.now();
const { kubeconfig, kubectl, bin, env, nodeDir } = await ensureDemoDatabase();
const k = (args: string[], input?: string) =>
  spawnSync(kubectl, args, { env, input, encoding: 'utf8', maxBuffer: 64 << 20 }).stdout;
const journal = async () => readJournal(await journalDir(k, nodeDir, DEMO_NS, DEMO_APP));
const sql = async (db: string, q: string) =>
  k(
    [
      '-n',
      DEMO_NS,
      'exec',
      '-i',
      DEMO_POD,
      '--',
      'psql',
      '-X',
      '-q',
      '-A',
      '-t',
      '-F',
      '\t',
      '-v',
      'ON_ERROR_STOP=1',
      '-U',
      'postgres',
      '-d',
      db,
      '-f',
      '-',
    ],
    q,
  );

async function show(args: string[], why = ''): Promise<number> {
  process.stderr.write(`\n${why ? `# ${why}\n` : ''}$ kubectl pgupgrade ${args.join(' ')}\n\n`);
  const child = spawn(bin, args, { env, stdio: 'inherit' });
  return new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
}

process.stderr.write(`\n$ export KUBECONFIG=${kubeconfig}\n`);
const state = spawn(bin, ['check', '-n', DEMO_NS, '--to', String(DEMO_TO), '-o', 'json'], {
  env,
  stdio: ['ignore', 'pipe', 'ignore'],
});
let json = '';
let rolledBack: RolledBack | undefined;
state.stdout.on('data', (d: Buffer) => (json += d.toString()));
await new Promise((r) => state.on('exit', r));
// A database that an earlier demo upgraded runs 14 already, and check says --to 14 is no upgrade: roll it back first.
if (!json.trim()) {
  const code = await show(
    ['upgrade', '-n', DEMO_NS, '--rollback', '-y'],
    `an earlier demo upgraded it: back to ${DEMO_FROM} first, from the snapshot taken then`,
  );
  if (code !== 0) process.exit(code);
  rolledBack = { from: DEMO_TO, journal: await journal() };
}
// The application writes through the Service all along; it has written on 12 before anything happens.
await pollWrites(journal, {
  what: `deploy/${DEMO_APP}`,
  major: DEMO_FROM,
  moreThan: (countWrites(await journal()).byMajor[DEMO_FROM] ?? 0) + 5,
});
const onNew = countWrites(await journal()).byMajor[DEMO_TO] ?? 0;
let code = await show(
  ['check', '-n', DEMO_NS, '--to', String(DEMO_TO), ...process.argv.slice(2)],
  'the read-only preflight',
);
if (code === 0) {
  code = await show(
    ['upgrade', '-n', DEMO_NS, '--to', String(DEMO_TO), '--method', 'link', '--image', DEMO_IMAGE, '-y'],
    "the upgrade in place into the vendor's image, every phase recorded",
  );
}
if (code === 0) {
  // Back on 14, it writes again, and every write it saw committed is there (but those an earlier rollback threw away).
  const writes = await pollWrites(journal, { what: `deploy/${DEMO_APP}`, major: DEMO_TO, moreThan: onNew + 5 });
  const r = await assertWritesPresent(sql, writes, { rolledBack });
  const n = countWrites(writes).byMajor;
  process.stderr.write(
    `\n# deploy/${DEMO_APP} wrote all along: ${r.committed} writes it saw committed (${n[DEMO_FROM] ?? 0} on ${DEMO_FROM}, ${n[DEMO_TO] ?? 0} on ${DEMO_TO}), ` +
      `${r.present} present${r.discardedByRollback ? `, ${r.discardedByRollback} on ${DEMO_TO} undone by the rollback` : ''}, none missing\n`,
  );
}
process.stderr.write(
  [
    '',
    'The test environment keeps running; `npm run testenv:down` stops it. To use your own cluster instead, use your',
    'own kubeconfig: dist/kubectl-pgupgrade check -n <namespace> [sts/<name>] --to <major> (or, installed with krew,',
    'kubectl pgupgrade check …). check only reads; upgrade asks before it stops anything (-y answers for you).',
    '',
  ].join('\n'),
);
// A first run on a new machine spends minutes building and fetching; say how many, last, where it is seen.
const cold = coldStartSummary();
if (cold) process.stderr.write(`${cold}.\nThis first run took ${formatDuration(Date.now() - started)} in all.\n`);
process.exitCode = code;
