import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cachedHelp, helpKey } from '../../src/help-cache.ts';

const cmds = ['version', 'completion'];

test('only plain help requests have a key', () => {
  assert.is(helpKey(['--help'], cmds), '');
  assert.is(helpKey(['-h'], cmds), '');
  assert.is(helpKey(['version', '--help'], cmds), 'version');
  assert.is(helpKey(['completion', '-h'], cmds), 'completion');
  assert.is(helpKey(['--no-color', '--help'], cmds), undefined);
  assert.is(helpKey(['nope', '--help'], cmds), undefined);
  assert.is(helpKey(['version'], cmds), undefined);
  assert.is(helpKey([], cmds), undefined);
});

test('served from the table when there is one', () => {
  const table = { '': 'root help', version: 'version help' };
  assert.is(cachedHelp(['-h'], table), 'root help');
  assert.is(cachedHelp(['version', '--help'], table), 'version help');
  assert.is(cachedHelp(['completion', '--help'], table), undefined);
  assert.is(cachedHelp(['--help'], undefined), undefined);
});

test.run();
