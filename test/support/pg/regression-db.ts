import * as fs from 'node:fs';
import * as path from 'node:path';
import { exclusive } from '../lock.ts';
import { cacheDir } from '../paths.ts';
import { toolWork } from '../progress.ts';
import { ensureRegressSuite, type RegressMajor } from './regress-suite.ts';
import { BITNAMI, initCluster, makeVolume, runOn, startServer, TEST_SUPERUSER_PASSWORD } from './server.ts';
import { asciiDatabases, buildScript, regressDumpFilter } from './regression-recipe.ts';

/** A regression database built from one major's suite, dumped by that major's pg_dumpall. */
export interface RegressionDump {
  major: RegressMajor;
  /** The upstream version of the suite. */
  version: string;
  /** The pg_dumpall script: the regress_* roles, the regression database and the ASCII-named ones. */
  file: string;
  /** Per test file of the schedule, how many of its statements failed (the suite expects some). */
  errors: Record<string, number>;
  /** Per test file, the statements that failed because regress.so is not here. */
  needRegressSo: Record<string, number>;
}

// Raised when the recipe changes, so that a cached dump of an older recipe is rebuilt.
const RECIPE = 1;

/**
 * The regression database of `major`: its schedule run file by file with psql against a sandboxed server of that
 * major (as pg_regress would, but without regress.so, which only a source build has), the databases whose names
 * hold every printable ASCII character beside it (as 002_pg_upgrade.pl makes them), dumped once and cached.
 */
export async function ensureRegressionDump(major: RegressMajor): Promise<RegressionDump> {
  const suite = await ensureRegressSuite(major);
  const dir = cacheDir('regress', `db-${major}-${suite.version}-r${RECIPE}`);
  const meta = path.join(dir, 'build.json');
  const ready = () =>
    fs.existsSync(meta)
      ? ({ ...JSON.parse(fs.readFileSync(meta, 'utf8')), file: path.join(dir, 'regression.sql') } as RegressionDump)
      : undefined;
  const cached = ready();
  if (cached) return cached;
  return exclusive(`${dir}.lock`, async () => {
    const again = ready();
    if (again) return again;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    await toolWork(`building the regression database of PostgreSQL ${suite.version} from its suite`, () =>
      build(major, suite, dir),
    );
    return ready() as RegressionDump;
  });
}

async function build(major: RegressMajor, suite: { dir: string; version: string }, dir: string): Promise<void> {
  const volume = makeVolume(`regress-${major}`);
  try {
    await initCluster(major, volume);
    fs.cpSync(suite.dir, path.join(volume, 'regress'), { recursive: true });
    for (const d of ['results', 'testtablespace']) fs.mkdirSync(path.join(volume, 'regress', d));
    chownTree(path.join(volume, 'regress'));
    const server = await startServer(major, volume);
    try {
      const script = path.join(volume, 'regress', 'build.sh');
      fs.writeFileSync(script, buildScript(major, server.port, `${BITNAMI.mount}/regress`, asciiDatabases()));
      const said = await runOn([major], volume, ['bash', '-c', `bash ${BITNAMI.mount}/regress/build.sh 2>&1`], {
        PGPASSWORD: TEST_SUPERUSER_PASSWORD,
        PGCONNECT_TIMEOUT: '10',
      });
      if (!said.includes(`built ${major}`))
        throw new Error(`the regression build of ${major} stopped:\n${said.slice(-3000)}`);
    } finally {
      await server.stop();
    }
    const out = path.join(volume, 'regress');
    fs.writeFileSync(
      path.join(dir, 'regression.sql'),
      regressDumpFilter(fs.readFileSync(path.join(out, 'dumpall.sql'), 'utf8')),
    );
    const errors = countsOf(path.join(out, 'errors.tsv'));
    fs.writeFileSync(
      path.join(dir, 'build.json'),
      JSON.stringify({ major, version: suite.version, errors: errors.all, needRegressSo: errors.regressSo }, null, 1),
    );
  } finally {
    fs.rmSync(volume, { recursive: true, force: true });
  }
}

/** The suite's copy owned by the server's user, as the volume is: the server writes the COPY TO files there. */
function chownTree(dir: string): void {
  fs.chownSync(dir, BITNAMI.uid, BITNAMI.gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    fs.chownSync(path.join(e.parentPath, e.name), BITNAMI.uid, BITNAMI.gid);
  }
}

/** errors.tsv holds one line per test file: its name, its failed statements, those of them naming regress.so. */
function countsOf(file: string): { all: Record<string, number>; regressSo: Record<string, number> } {
  const all: Record<string, number> = {};
  const regressSo: Record<string, number> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [name, n, so] = line.split('\t');
    if (Number(n) > 0) all[name as string] = Number(n);
    if (Number(so) > 0) regressSo[name as string] = Number(so);
  }
  return { all, regressSo };
}
