import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../support/paths.ts';

// A workload's records are read in one place, src/state/recorded.ts (readRecorded), with one binding check and one
// precedence: a read of a record around it, outside src/state/, would bring back a seventh.
const SRC = path.join(repoRoot, 'src');
const READERS = /\b(readRecordMap|readUpgradeRecord|parseState|parseDumpState)\(/g;

function callsOf(): Array<{ file: string; reader: string }> {
  return fs
    .readdirSync(SRC, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .flatMap((f) =>
      [...fs.readFileSync(f, 'utf8').matchAll(READERS)].map((m) => ({
        file: path.relative(SRC, f),
        reader: m[1] ?? '',
      })),
    );
}

const CALLS = callsOf();

test('the scan sees the record readers where they are (guards the test below against a scan that finds nothing)', () => {
  const inRecorded = CALLS.filter((c) => c.file === path.join('state', 'recorded.ts')).map((c) => c.reader);
  for (const reader of ['readRecordMap', 'parseState', 'parseDumpState'])
    assert.ok(inRecorded.includes(reader), reader);
});

test('no file outside src/state/ reads a record around readRecorded (src/state/recorded.ts)', () => {
  const outside = CALLS.filter((c) => !c.file.startsWith(`state${path.sep}`)).map((c) => `${c.file}: ${c.reader}(`);
  assert.equal(outside, []);
});

test.run();
