import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { releaseNamespaces } from '../../support/kube/helpers.ts';
import {
  adjustUntilCheckPasses,
  deployRegression,
  dumpAll,
  upgradeInPlaceAndCompare,
} from '../../support/regression-case.ts';
import { assertNoSecret, upgradeCli, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 29, part 1: PostgreSQL's own regression database (built from the 13 suite by the project, cached), upgraded
// in place as pg_upgrade's own cross-version test does it: check names what pg_upgrade refuses, those objects are
// dropped (dump-adjust.ts says which and why), and pg_dumpall of the old and the new cluster, taken with the new
// major's client and adjusted as that test adjusts them, is equal; so is the tests' fingerprint.
const test = suite("PostgreSQL's regression database of 13, rehearsed and upgraded in place to 15");
const PASSWORD = 'Regression-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'official 13 → 15, link, the regression database',
  file: 'upgrade',
  flavour: 'official',
  from: 13,
  to: 15,
  method: 'link',
  ns: uniqueNamespace('regression'),
  pod: '',
};
let oldDump = '';

test('set up: the official 13 with its writing application, and the regression database loaded from its cached dump', async () => {
  assert.ok((await deployRegression((await sharedEnv()).cp, c, PASSWORD)) > 1000);
});

test('check FAILs on the postfix operators pg_upgrade refuses, naming each; with them dropped, it passes', async () => {
  const { cp } = await sharedEnv();
  const [postfix] = await adjustUntilCheckPasses(cp, c, outputs, ['postfix-operators']);
  assert.match(postfix?.found ?? '', /regression \(4\): .*public\.#@#\(bigint, NONE\)/);
  oldDump = await dumpAll(cp, c);
});

test('--rehearse: the whole upgrade of the regression database on a clone, while it serves', async () => {
  const { cp } = await sharedEnv();
  const r = await upgradeCli(cp, ['-n', c.ns, '--to', '15', '--method', 'link', '--rehearse', '-y'], outputs);
  assert.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout + r.stderr, /rehears/i);
});

test('upgrade in place by link: the fingerprints are equal, and so are the adjusted pg_dumpall outputs', async () => {
  await upgradeInPlaceAndCompare((await sharedEnv()).cp, c, outputs, oldDump);
});

test('no secret in any output or in the audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 3);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
