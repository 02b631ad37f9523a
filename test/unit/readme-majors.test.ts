import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { majorsTable } from '../../scripts/lib/majors-table.ts';
import { repoRoot } from '../support/paths.ts';

test("the README's table of supported majors is the one the code makes (on failure: node scripts/readme.ts)", () => {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const table = majorsTable();
  assert.ok(readme.includes(table), 'README.md differs from `node scripts/readme.ts`');
  // Every pair from 10-17 into 12-18 upward has a cell: run end to end, or covered by the rules' tests.
  const cells = table
    .split('\n')
    .filter((l) => /^\| \*\*\d+\*\* \|/.test(l))
    .flatMap((l) =>
      l
        .split('|')
        .slice(2, -1)
        .map((x) => x.trim())
        .filter(Boolean),
    );
  assert.is(cells.length, 7 + 7 + 6 + 5 + 4 + 3 + 2 + 1);
  assert.ok(
    cells.every((x) => /^(\*\*e2e\*\* \([a-z, ]+\)|rules)²?$/.test(x)),
    cells.join(' / '),
  );
});

test.run();
