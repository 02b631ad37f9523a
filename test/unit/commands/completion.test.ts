import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { completionScript } from '../../../src/commands/completion/script.ts';

test('bash: a completion function registered for the binary, asking the binary', () => {
  const s = completionScript('bash');
  assert.match(s, 'complete -o bashdefault -o default -F _kubectl_pgupgrade_completions kubectl-pgupgrade');
  assert.match(s, 'kubectl-pgupgrade --get-yargs-completions');
});

test('zsh: a compdef file that tells yargs it is zsh', () => {
  const s = completionScript('zsh');
  assert.ok(s.startsWith('#compdef kubectl-pgupgrade\n'));
  assert.match(s, 'ZSH_NAME=zsh kubectl-pgupgrade --get-yargs-completions');
  assert.match(s, 'compdef _kubectl_pgupgrade_completions kubectl-pgupgrade');
});

test.run();
