import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isInterrupted, onInterrupt, runInterruptCleanups } from '../../src/interrupt.ts';

const test = suite('Ctrl-C clean-ups');

test('registered clean-ups run; one unregistered does not; one registered during the clean-up runs at once and is awaited', async () => {
  const ran: string[] = [];
  onInterrupt(async () => void ran.push('probe pod'));
  const done = onInterrupt(async () => void ran.push('finished already'));
  done();
  let late: Promise<void> | undefined;
  onInterrupt(async () => {
    ran.push('restored PVC');
    // The interrupted flow goes on meanwhile and creates one more object, which registers its own clean-up.
    late = new Promise((r) => setTimeout(r, 50)).then(
      () =>
        void onInterrupt(async () => {
          await new Promise((r) => setTimeout(r, 50));
          ran.push('pod created after Ctrl-C');
        }),
    );
  });
  assert.is(isInterrupted(), false);
  await runInterruptCleanups(5_000);
  await late;
  assert.is(isInterrupted(), true);
  assert.equal(ran, ['probe pod', 'restored PVC', 'pod created after Ctrl-C']);
});

test.run();
