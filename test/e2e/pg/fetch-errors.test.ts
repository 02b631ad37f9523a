import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fetchDebs } from '../../support/apt.ts';

const test = suite('fetch failures explain themselves');

test('a package that no listed suite carries is named', async () => {
  const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'pgupgrade-apt-'));
  try {
    await fetchDebs({
      name: 'errors-bookworm',
      suites: [{ suite: 'bookworm' }],
      packages: ['postgresql-99-no-such-package'],
      dest,
    });
    assert.unreachable('the fetch should fail');
  } catch (err) {
    assert.match((err as Error).message, 'package postgresql-99-no-such-package could not be had from bookworm');
  } finally {
    fs.rmSync(dest, { recursive: true, force: true });
  }
});

test('a suite that cannot be listed is named', async () => {
  try {
    await fetchDebs({
      name: 'errors-nosuite',
      suites: [{ suite: 'no-such-suite-xyz' }],
      packages: ['hostname'],
      dest: os.tmpdir(),
    });
    assert.unreachable('the fetch should fail');
  } catch (err) {
    assert.match((err as Error).message, 'apt-get update of suites no-such-suite-xyz failed');
  }
});

test.run();
