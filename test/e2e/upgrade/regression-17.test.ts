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
import { assertNoSecret, type Deployed } from '../../support/upgrade-cases.ts';

// Issue 29, part 1: the regression database of 15 in place to 17 by copy. Across 16, pg_upgrade refuses aclitem
// columns, and the restore of the schema fails on a child table that computes a column its parent stores (after
// pg_upgrade --check passed): check names both before any downtime; with them dropped, the dumps are equal.
const test = suite("PostgreSQL's regression database of 15, upgraded in place to 17 by copy");
const PASSWORD = 'Regression-17-E2E-S3cret';
const outputs: RunResult[] = [];
const c: Deployed = {
  name: 'official 15 → 17, copy, the regression database',
  file: 'upgrade',
  flavour: 'official',
  from: 15,
  to: 17,
  method: 'copy',
  ns: uniqueNamespace('regression-17'),
  pod: '',
};
let oldDump = '';

test('set up: the official 15 with its writing application, and the regression database loaded from its cached dump', async () => {
  assert.ok((await deployRegression((await sharedEnv()).cp, c, PASSWORD)) > 1000);
});

test('check FAILs on the aclitem column and the generated children, naming each; with them dropped, it passes', async () => {
  const { cp } = await sharedEnv();
  const failed = await adjustUntilCheckPasses(cp, c, outputs, ['aclitem-columns', 'generated-children']);
  const found = failed.map((f) => f.found).join('\n');
  assert.match(found, 'public.tab_core_types.aclitem');
  assert.match(found, 'public.gtest_normal_child.b (a child of public.gtest_normal)');
  oldDump = await dumpAll(cp, c);
});

test('upgrade in place by copy: the fingerprints are equal, and so are the adjusted pg_dumpall outputs', async () => {
  await upgradeInPlaceAndCompare((await sharedEnv()).cp, c, outputs, oldDump);
});

test('no secret in any output or in the audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 3);
});

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
