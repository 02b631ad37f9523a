import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../support/paths.ts';

test('the whole tree type-checks under strict tsconfig', () => {
  const tsc = path.join(repoRoot, 'node_modules', '.bin', 'tsc');
  const r = spawnSync(tsc, ['-p', repoRoot], { encoding: 'utf8' });
  assert.is(r.status, 0, `tsc -p . reported:\n${r.stdout}${r.stderr}`);
});

test.run();
