import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseRenderer, detectRendererEnv, isCi } from '../../src/renderer.ts';

const tty = { isTTY: true, ci: false, noColor: false, debug: false, output: 'text' as const };

test('a terminal gets the live tree', () => {
  assert.is(chooseRenderer(tty), 'default');
});

test('pipes, CI and NO_COLOR get plain lines; --debug makes them verbose', () => {
  assert.is(chooseRenderer({ ...tty, isTTY: false }), 'simple');
  assert.is(chooseRenderer({ ...tty, ci: true }), 'simple');
  assert.is(chooseRenderer({ ...tty, noColor: true }), 'simple');
  assert.is(chooseRenderer({ ...tty, isTTY: false, debug: true }), 'verbose');
});

test('structured output silences the tree, even on a terminal', () => {
  assert.is(chooseRenderer({ ...tty, output: 'json' }), 'silent');
  assert.is(chooseRenderer({ ...tty, output: 'yaml', debug: true }), 'silent');
});

test('the environment is read once, from flags, env and the stream', () => {
  const env = detectRendererEnv({ output: 'json', color: false }, { CI: 'true' }, true);
  assert.equal(env, { isTTY: true, ci: true, noColor: true, debug: false, output: 'json' });
  assert.is(detectRendererEnv({}, { NO_COLOR: '1' }, true).noColor, true);
  assert.is(detectRendererEnv({}, { NO_COLOR: '' }, true).noColor, false);
  assert.is(detectRendererEnv({}, {}, false).output, 'text');
});

test('CI=false and CI=0 are not CI', () => {
  assert.is(isCi({ CI: 'false' }), false);
  assert.is(isCi({ CI: '0' }), false);
  assert.is(isCi({ CI: '1' }), true);
  assert.is(isCi({}), false);
});

test.run();
