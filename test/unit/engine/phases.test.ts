import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  phasePlan,
  phaseTasks,
  recordedPhases,
  runPhase,
  skipReason,
  type Phase,
  type Recorder,
} from '../../../src/engine/phases.ts';
import { inPlacePhases } from '../../../src/commands/upgrade/apply.ts';
import { dumpPhases } from '../../../src/commands/upgrade/dump/apply.ts';
import { rehearsePhases } from '../../../src/commands/upgrade/rehearse.ts';
import { PHASES } from '../../../src/state/state.ts';
import { DUMP_PHASES } from '../../../src/state/dump-state.ts';
import type { UpgradeOptions } from '../../../src/commands/upgrade/ctx.ts';

const test = suite('the phase engine: one table gives the run and the dry run');

interface Ctx {
  done: string[];
  ran: string[];
  flag: boolean;
}

/** An in-memory record: the phases done, in order. */
const recorder: Recorder<Ctx> = {
  isDone: (ctx, p) => ctx.done.includes(p),
  record: async (ctx, p) => void ctx.done.push(p),
};

const table: Array<Phase<Ctx>> = [
  { title: 'One', recorded: 'one', step: async (c) => void c.ran.push('one'), plan: () => [{ step: 'make one' }] },
  {
    title: 'Two',
    recorded: 'two',
    records: 'step',
    step: async (c) => {
      c.ran.push('two');
      await recorder.record(c, 'two-half');
      return 'half way';
    },
  },
  {
    title: 'Three',
    when: (c) => c.flag,
    step: async (c) => void c.ran.push('three'),
    plan: () => [{ step: 'make three' }],
  },
  { title: 'Four', recorded: 'four', skip: (c) => !c.flag && 'SKIPPED BY --no-four', step: async () => 'noted' },
];

test('a phase is recorded after its step returns, unless its step records itself; its note goes into the title', async () => {
  const ctx: Ctx = { done: [], ran: [], flag: true };
  const task = { title: 'One', output: '' };
  await runPhase(recorder, table[0]!, ctx, task);
  assert.equal(ctx.done, ['one']);
  assert.is(task.title, 'One', 'no note, the title as it was');
  const two = { title: 'Two', output: '' };
  await runPhase(recorder, table[1]!, ctx, two);
  assert.equal(ctx.done, ['one', 'two-half'], 'records: step: the engine does not record `two`');
  assert.is(two.title, 'Two: half way');
});

test('a failing step records nothing', async () => {
  const ctx: Ctx = { done: [], ran: [], flag: true };
  const failing: Phase<Ctx> = {
    title: 'Fails',
    recorded: 'fails',
    step: async () => {
      throw new Error('boom');
    },
  };
  await runPhase(recorder, failing, ctx, { title: '', output: '' }).then(
    () => assert.unreachable('it should fail'),
    (e: Error) => assert.is(e.message, 'boom'),
  );
  assert.equal(ctx.done, []);
});

test('once the record says the run is stopped (Ctrl-C), no phase starts, and one under way when it came is not recorded', async () => {
  let stopped = true;
  const stopping: Recorder<Ctx> = { ...recorder, stopped: () => stopped };
  const ctx: Ctx = { done: [], ran: [], flag: true };
  const said = (e: Error) => e.message;
  assert.is(await runPhase(stopping, table[0]!, ctx, { title: '', output: '' }).then(() => 'ran', said), 'interrupted');
  assert.equal(ctx.ran, [], 'the step never started');
  stopped = false;
  const mid: Phase<Ctx> = {
    title: 'Mid',
    recorded: 'mid',
    step: async (c) => {
      c.ran.push('mid');
      stopped = true;
    },
  };
  assert.is(await runPhase(stopping, mid, ctx, { title: '', output: '' }).then(() => 'ran', said), 'interrupted');
  assert.equal([ctx.ran, ctx.done], [['mid'], []], 'it ran; the record does not say it is done');
});

test("a resumed run skips what the record says is done; a phase's own reason comes first", () => {
  const ctx: Ctx = { done: ['one', 'four'], ran: [], flag: false };
  assert.is(skipReason(recorder, table[0]!, ctx), 'done in an earlier run');
  assert.is(skipReason(recorder, table[1]!, ctx), false);
  assert.is(skipReason(recorder, table[3]!, ctx), 'SKIPPED BY --no-four');
  assert.is(skipReason(recorder, table[3]!, { ...ctx, flag: true }), 'done in an earlier run');
  const tasks = phaseTasks(recorder, table);
  assert.equal(
    tasks.map((t) => t.title),
    ['One', 'Two', 'Three', 'Four'],
  );
  assert.is(tasks[2]?.enabled instanceof Function && (tasks[2].enabled as (c: Ctx) => boolean)(ctx), false);
  assert.is(tasks[0]?.enabled, undefined, 'a phase without `when` is always in the run');
});

test('the dry run is the table plans in order, whatever `when` judges later in the run', () => {
  assert.equal(
    phasePlan(table, { done: [], ran: [], flag: false }).map((p) => p.step),
    ['make one', 'make three'],
  );
  assert.equal(recordedPhases(table), ['one', 'two', 'four']);
});

/** Whether `sub` appears in `all` in the same order. */
const inOrder = (sub: string[], all: readonly string[]) =>
  sub.every((p, i) => all.indexOf(p) >= 0 && (i === 0 || all.indexOf(p) > all.indexOf(sub[i - 1] ?? '')));

test("each method's table records the phases of its record, in the record's order", () => {
  const opts = { timeoutSeconds: 60, snapshot: true, patchWorkload: true, fullVerify: false } as UpgradeOptions;
  const inPlace = recordedPhases(inPlacePhases(opts));
  assert.ok(inOrder(inPlace, PHASES), inPlace.join(' '));
  assert.equal(inPlace, [
    'apps-down',
    'fingerprint',
    'db-down',
    'snapshot',
    'job',
    'workload-patched',
    'db-up',
    'verified',
    'apps-up',
    'done',
  ]);
  const dump = recordedPhases(dumpPhases(60, false));
  assert.ok(inOrder(dump, DUMP_PHASES), dump.join(' '));
  assert.equal(dump.length, 13, dump.join(' '));
  assert.equal(recordedPhases(rehearsePhases(60_000)), [], 'the rehearsal records nothing: production is only read');
});

test.run();
