import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isInterrupted, onInterrupt, othersSettled, runInterruptCleanups } from '../../src/interrupt.ts';

const test = suite('Ctrl-C clean-ups');

test('registered clean-ups run; one unregistered does not; one registered during the clean-up runs at once and is awaited; the last runs after all', async () => {
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
  // The lock's release: registered first, run once every other clean-up has ended (they write the record under it),
  // and awaited before the exit; the interrupted flow waits for the others to have ended before it releases itself.
  onInterrupt(
    async () => {
      await new Promise((r) => setTimeout(r, 50));
      ran.push('lock released');
    },
    { last: true },
  );
  void othersSettled().then(() => ran.push('others settled'));
  assert.is(isInterrupted(), false);
  await runInterruptCleanups(5_000);
  await late;
  assert.is(isInterrupted(), true);
  assert.equal(ran, ['probe pod', 'restored PVC', 'pod created after Ctrl-C', 'others settled', 'lock released']);
});

test.run();
