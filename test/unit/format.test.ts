import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../support/paths.ts';

// The formatter and the linter (biome, configured in biome.json) over src, test, scripts and bench.
// `npm run format` rewrites the tree in the house's format and applies the linter's safe fixes.
test('the tree is formatted at 120 columns and passes the linter', () => {
  const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');
  const r = spawnSync(biome, ['ci', '--colors=off', '--max-diagnostics=50', '.'], { cwd: repoRoot, encoding: 'utf8' });
  assert.is(r.status, 0, `biome ci reported:\n${r.stdout}${r.stderr}`);
});

test('the checker sees files (guards the test above against a configuration that checks nothing)', () => {
  const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');
  const r = spawnSync(biome, ['ci', '--colors=off', '.'], { cwd: repoRoot, encoding: 'utf8' });
  const checked = Number(/Checked (\d+) files?/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 0);
  assert.ok(checked > 300, `biome checked only ${checked} files`);
});

test.run();
