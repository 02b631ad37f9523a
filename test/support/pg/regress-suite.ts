import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { aptArgs, sourcesList, stderrOf, type Suite } from '../apt.ts';
import { exclusive } from '../lock.ts';
import { cacheDir } from '../paths.ts';
import { toolWork } from '../progress.ts';

const run = promisify(execFile);

/** The majors whose regression suite the tests build a database from, and the Debian release that carries each. */
export type RegressMajor = 13 | 15;
const SUITES: Record<RegressMajor, string> = { 13: 'bullseye', 15: 'bookworm' };

/** What of `src/test/regress` the database needs: the scripts, their data files and the schedule (input/ up to 14). */
const kept = (major: RegressMajor) => ['sql', 'data', 'parallel_schedule', ...(major < 15 ? ['input'] : [])];

/**
 * PostgreSQL's regression suite of one major, from the Debian source package of the release that ships its
 * binaries (the orig tarball, unpacked for `src/test/regress` only), cached. Returns the directory that holds
 * `sql/`, `input/`, `data/` and `parallel_schedule`, and the upstream version it came from.
 */
export async function ensureRegressSuite(major: RegressMajor): Promise<{ dir: string; version: string }> {
  const dir = cacheDir('regress', `suite-${major}`);
  const marker = path.join(dir, '.version');
  if (fs.existsSync(marker)) return { dir, version: fs.readFileSync(marker, 'utf8').trim() };
  return exclusive(`${dir}.lock`, async () => {
    if (fs.existsSync(marker)) return { dir, version: fs.readFileSync(marker, 'utf8').trim() };
    const version = await toolWork(
      `fetching the source of postgresql-${major} from Debian for its regression suite`,
      () => fetchSuite(major, dir),
    );
    fs.writeFileSync(marker, `${version}\n`);
    return { dir, version };
  });
}

async function fetchSuite(major: RegressMajor, dir: string): Promise<string> {
  const apt = cacheDir('apt', `src-${SUITES[major]}`);
  const work = path.join(apt, 'src');
  for (const d of ['lists/partial', 'cache/archives/partial']) fs.mkdirSync(path.join(apt, d), { recursive: true });
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work);
  // The release itself only: this machine's mirror serves no source packages from the security archive.
  const suites: Suite[] = [{ suite: SUITES[major] }];
  fs.writeFileSync(path.join(apt, 'sources.list'), sourcesList(suites, 'deb-src'));
  try {
    await run('apt-get', [...aptArgs(apt), 'update'], { maxBuffer: 1 << 24 });
    await run('apt-get', [...aptArgs(apt), 'source', '--download-only', `postgresql-${major}`], {
      cwd: work,
      maxBuffer: 1 << 24,
    });
  } catch (err) {
    throw new Error(`the source package postgresql-${major} could not be had from ${SUITES[major]}: ${stderrOf(err)}`);
  }
  const orig = fs.readdirSync(work).find((f) => /\.orig\.tar\.(bz2|gz|xz)$/.test(f));
  const version = /_([\d.]+)\.orig/.exec(orig ?? '')?.[1];
  if (!orig || !version) throw new Error(`apt-get source postgresql-${major} left no orig tarball in ${work}`);
  const top = `postgresql-${version}/src/test/regress`;
  await run('tar', ['-xf', path.join(work, orig), '-C', work, ...kept(major).map((k) => `${top}/${k}`)]);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.renameSync(path.join(work, top), dir);
  fs.rmSync(work, { recursive: true, force: true });
  return version;
}
