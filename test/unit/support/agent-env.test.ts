import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expand, resolveEnv } from '../../support/agent/env.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const src = {
  secret: async (n: string) => (n === 'pg' ? { 'postgres-password': b64('s3cret') } : undefined),
  configMap: async (n: string) => (n === 'cfg' ? { MODE: 'fast' } : undefined),
};
const facts = { name: 'p-0', namespace: 'db', podIP: '10.0.0.2', nodeName: 'n', serviceAccountName: 'default' };

test('value, secretKeyRef, configMapKeyRef, fieldRef and envFrom', async () => {
  const env = await resolveEnv(
    {
      envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'X_' }],
      env: [
        { name: 'A', value: 'a' },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'pg', key: 'postgres-password' } } },
        { name: 'M', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } },
        { name: 'ME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'OPT', valueFrom: { secretKeyRef: { name: 'pg', key: 'nope', optional: true } } },
      ],
    },
    src,
    facts,
  );
  assert.equal(env, { X_MODE: 'fast', A: 'a', PW: 's3cret', M: 'fast', ME: 'p-0' });
});

test('a missing secret or key fails with its name', async () => {
  try {
    await resolveEnv({ env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'pg', key: 'nope' } } }] }, src, facts);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, 'secret "pg" has no key "nope"');
  }
  try {
    await resolveEnv({ env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'gone', key: 'k' } } }] }, src, facts);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, 'secret "gone" not found');
  }
});

test('$(VAR) expansion as the kubelet does it', () => {
  assert.is(expand('$(A)/x/$(B)/$$(A)', { A: '1' }), '1/x/$(B)/$(A)');
});

test.run();
