import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { retryRead } from '../../../src/k8s/retry.ts';

const test = suite('reads outlast a brief apiserver blip, and nothing else');

test('a transient failure is retried until the read answers', async () => {
  let calls = 0;
  const v = await retryRead(async () => {
    calls++;
    if (calls < 3) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    return 'ok';
  }, 5_000);
  assert.is(v, 'ok');
  assert.is(calls, 3);
});

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a rejection');
}

test('a refusal is not retried, and a blip longer than the budget fails with its own error', async () => {
  let calls = 0;
  assert.is(
    await rejection(
      retryRead(async () => {
        calls++;
        throw Object.assign(new Error('forbidden'), { code: 403 });
      }),
    ),
    'forbidden',
  );
  assert.is(calls, 1);
  assert.is(
    await rejection(
      retryRead(async () => {
        throw Object.assign(new Error('service unavailable'), { code: 503 });
      }, 300),
    ),
    'service unavailable',
  );
});

test.run();
