import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../support/paths.ts';

// Records every module that a run of the CLI (from source) resolves, to prove what it does not load.
const HOOK = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = [];
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); seen.push(r.url); return r; } });
process.on('exit', () => writeFileSync(process.env.SEEN_FILE, JSON.stringify(seen)));
`;

function modulesLoadedBy(args: string[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-lazy-'));
  try {
    fs.writeFileSync(path.join(dir, 'hook.mjs'), HOOK);
    fs.writeFileSync(
      path.join(dir, 'config'),
      'current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n' +
        'clusters: [{name: k, cluster: {server: "https://127.0.0.1:9"}}]\n',
    );
    const env = { ...process.env, SEEN_FILE: path.join(dir, 'seen.json'), KUBECONFIG: path.join(dir, 'config') };
    const r = spawnSync(process.execPath, ['--import', path.join(dir, 'hook.mjs'), 'src/main.ts', ...args], {
      cwd: repoRoot,
      env,
      encoding: 'utf8',
    });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(fs.readFileSync(path.join(dir, 'seen.json'), 'utf8')) as string[];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const args of [['--help'], ['version'], ['completion', 'bash'], ['check', '--help']]) {
  test(`${args.join(' ')} never loads @kubernetes/client-node`, () => {
    const seen = modulesLoadedBy(args);
    assert.ok(
      seen.some((u) => u.includes('/yargs/')),
      'the hook recorded the modules (yargs among them)',
    );
    assert.not.ok(
      seen.some((u) => u.includes('@kubernetes/client-node')),
      seen.filter((u) => u.includes('kubernetes')).join(','),
    );
  });
}

test('only src/k8s imports @kubernetes/client-node, and nothing imports it at the top of a module outside it', () => {
  const files = fs
    .readdirSync(path.join(repoRoot, 'src'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
  const importers = files.filter((f) =>
    /from '@kubernetes\/client-node'|import\('@kubernetes\/client-node'\)/.test(fs.readFileSync(f, 'utf8')),
  );
  assert.ok(importers.length > 0, 'the cluster client imports it');
  for (const f of importers) assert.ok(path.relative(repoRoot, f).startsWith('src/k8s/'), `${f} imports client-node`);
  const lazy = files.filter((f) => fs.readFileSync(f, 'utf8').includes("import('./k8s/client.ts')"));
  assert.equal(
    lazy.map((f) => path.relative(repoRoot, f)),
    ['src/context.ts'],
    'one module builds the client, lazily',
  );
});

test.run();
