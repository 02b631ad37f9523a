import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../../src/exit-codes.ts';
import { parseSelector } from '../../../src/k8s/selector.ts';

const test = suite('--app-selector');

function refused(s: string): string {
  try {
    parseSelector(s);
  } catch (err) {
    assert.instance(err, CliError);
    assert.is((err as CliError).exitCode, 2);
    return (err as Error).message;
  }
  throw new Error(`"${s}" was accepted`);
}

test('equality terms, as kubectl reads them', () => {
  assert.equal(parseSelector('layer=application'), { layer: 'application' });
  assert.equal(parseSelector(' app.kubernetes.io/part-of == shop , tier=web'), { 'app.kubernetes.io/part-of': 'shop', tier: 'web' });
  assert.equal(parseSelector('flag='), { flag: '' }, 'an empty value is a value');
});

test('an empty selector, which would match (and scale down) every workload, is refused', () => {
  assert.match(refused(''), /matches every workload/);
  assert.match(refused('  '), /matches every workload/);
});

test('set-based and negative terms, which select what the user did not name, are refused', () => {
  for (const s of ['tier!=db', '!canary', 'tier in (web,api)', 'tier notin (db)', 'layer=application,tier!=db']) {
    assert.match(refused(s), /not an equality term/, s);
  }
  assert.match(refused('layer'), /is not key=value/);
  assert.match(refused('a=b=c'), /is not key=value/);
  assert.match(refused('layer=application,'), /is not key=value/, 'an empty term');
});

test('keys and values must be valid labels', () => {
  assert.match(refused('-bad=x'), /not a label name/);
  assert.match(refused(`${'k'.repeat(64)}=x`), /not a label name/);
  assert.match(refused('Example.COM/k=x'), /not a DNS subdomain/);
  assert.match(refused('k=bad value'), /is not key=value/);
  assert.match(refused('k=-x'), /not a label value/);
  assert.match(refused('k=a,k=b'), /twice/);
});

test.run();
