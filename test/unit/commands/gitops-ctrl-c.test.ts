import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../support/paths.ts';

// Ctrl-C once --pause-gitops has paused, before the applications are down: the clean-up puts the Kustomization back
// and records it under the lock, which is released only after that, before the exit. In a process of its own (the
// child): once interrupted, src/interrupt.ts stays so for the process.
const child = path.join(repoRoot, 'test', 'unit', 'commands', 'gitops-ctrl-c.child.ts');

for (const [mode, flow] of [
  ['stops', 'interrupted'],
  ['stuck', 'still in its step'],
] as const) {
  test(`Ctrl-C after the pause (the next step ${mode === 'stops' ? 'stops at it' : 'never looks'}): put back, recorded, the lock free at the exit`, () => {
    const r = spawnSync(process.execPath, [child, mode], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 130, r.stderr);
    assert.equal(JSON.parse(r.stdout), {
      suspend: false,
      phase: 'gitops-paused',
      pausedOwners: 1,
      ownersResumedAt: 'string',
      rerun: 'took the lock',
      flow,
    });
  });
}

test.run();
