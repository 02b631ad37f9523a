import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadFailure } from '../../../src/commands/upgrade/dump/load.ts';
import { cutoverCommand } from '../../../src/commands/upgrade/dump/cutover.ts';
import { TARGET_SQL_SCRIPT } from '../../../src/commands/upgrade/dump/instance.ts';

const test = suite('upgrade --method dump: what it says and prints');

test('the load script\'s exit codes are said in words', () => {
  assert.is(loadFailure(30), 'the target is not empty');
  assert.is(loadFailure(33), 'the source and the target are one server');
  assert.is(loadFailure(41), 'a pg_restore failed');
  assert.is(loadFailure(7), 'exit 7');
});

test('--no-cutover prints a JSON merge patch that removes the old selector\'s keys and sets the new one', () => {
  const cmd = cutoverCommand('db', 'postgres', { selector: { 'k8s-app': 'postgres' }, ports: [{ port: 5432, targetPort: 5432 }] }, { 'pgupgrade.kubectl.io/instance': 'postgres-v14' });
  assert.is(cmd, `kubectl -n db patch service postgres --type merge -p '{"spec":{"selector":{"k8s-app":null,"pgupgrade.kubectl.io/instance":"postgres-v14"}}}'`);
});

test('SQL on the new instance: the password from stdin, statements through psql -f (ALTER SYSTEM refuses a transaction block)', () => {
  assert.match(TARGET_SQL_SCRIPT, 'IFS= read -r b');
  assert.match(TARGET_SQL_SCRIPT, "printf '%s\\n' \"$3\" | psql");
  assert.not.match(TARGET_SQL_SCRIPT, ' -c ');
});

test.run();
