import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { exclusive } from '../lock.ts';
import { cacheDir } from '../paths.ts';
import { toolWork } from '../progress.ts';

const run = promisify(execFile);

/** CRD files published in a Go module: the module, its pinned version, and the files' paths inside it. */
export interface ModuleCrds {
  module: string;
  version: string;
  files: string[];
}

/** `go mod download` of one pinned module (checked against the Go checksum database); resolves to its directory. */
async function downloadModule(m: ModuleCrds, cwd: string): Promise<string> {
  try {
    // Outside any go.mod, `go mod download` of a pinned version fetches just that module.
    const { stdout } = await run('go', ['mod', 'download', '-json', `${m.module}@${m.version}`], {
      cwd,
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      maxBuffer: 1 << 20,
    });
    return (JSON.parse(stdout) as { Dir: string }).Dir;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`go mod download ${m.module}@${m.version} failed: ${(e.stdout || e.stderr || e.message).trim()}`);
  }
}

/**
 * CRDs from the Go modules that publish them, copied once into one cache directory named `name/key` (the key
 * names every pinned version, so a new pin fetches anew). Resolves to that directory, for `kubectl apply -f`.
 */
export async function ensureModuleCrds(
  what: string,
  name: string,
  key: string,
  modules: ModuleCrds[],
): Promise<string> {
  const dir = cacheDir(name, key);
  const target = (f: string) => path.join(dir, path.basename(f));
  const complete = () => modules.every((m) => m.files.every((f) => fs.existsSync(target(f))));
  if (complete()) return dir;
  return exclusive(`${dir}.lock`, async () => {
    if (complete()) return dir;
    await toolWork(
      `fetching ${what} (Go modules ${modules.map((m) => `${m.module}@${m.version}`).join(', ')})`,
      async () => {
        fs.mkdirSync(dir, { recursive: true });
        for (const m of modules) {
          const moduleDir = await downloadModule(m, path.dirname(dir));
          for (const f of m.files) {
            const src = path.join(moduleDir, f);
            if (!fs.existsSync(src)) throw new Error(`${m.module}@${m.version} has no ${f}`);
            // Copied, not linked: the module cache is read-only and `go clean -modcache` may empty it.
            fs.writeFileSync(target(f), fs.readFileSync(src));
          }
        }
      },
    );
    return dir;
  });
}
