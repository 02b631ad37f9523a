import { suite } from 'uvu';
import { sharedEnv } from '../../support/cluster.ts';
import { reportFaults, runFault, type Fault, type Row } from '../../support/faults/in-place.ts';
import { releaseNamespaces } from '../../support/kube/helpers.ts';

// The kube-apiserver's stop, which pauses every file beside it, is in apiserver-pause.test.ts.
const test = suite('upgrade faults: a re-run completes, or --rollback returns to a startable old cluster');

const PHASES = [
  'Scale the applications down',
  'Stop the database',
  'Snapshot the stopped volume',
  'Run the upgrade Job',
  'Point the workload at the new major',
  'Wait until the snapshot is ready to use',
  'Start the database on',
  'Verify: equal',
  'Scale the applications back up',
];
const FAULTS: Fault[] = [
  ...PHASES.map(
    (p): Fault => ({
      after: p,
      marker: new RegExp(`✔ ${p}`),
      act: 'SIGINT the plugin',
      then: 'resume',
      method: 'link',
    }),
  ),
  ...PHASES.map(
    (p): Fault => ({
      after: p,
      marker: new RegExp(`✔ ${p}`),
      act: 'SIGKILL the plugin',
      then: 'resume',
      method: 'link',
    }),
  ),
  ...PHASES.map(
    (p): Fault => ({
      after: p,
      marker: new RegExp(`✔ ${p}`),
      act: 'SIGKILL the plugin',
      then: 'rollback',
      method: 'link',
    }),
  ),
  { after: 'the Job started', marker: /pgupgrade: initdb/, act: 'SIGKILL the plugin', then: 'resume', method: 'link' },
  {
    after: 'the Job started',
    marker: /pgupgrade: initdb/,
    act: 'SIGKILL the plugin',
    then: 'rollback',
    method: 'link',
  },
  {
    after: 'pg_upgrade --link began',
    marker: /pgupgrade: pg_upgrade --link/,
    act: "kill the Job's pod",
    then: 'rollback',
    method: 'link',
  },
  {
    after: 'the copy began',
    marker: /pgupgrade: pg_upgrade +--jobs/,
    act: "kill the Job's pod",
    then: 'rollback',
    method: 'copy',
  },
];

test(`${FAULTS.length} faults: zero rows lost`, async () => {
  const { cp } = await sharedEnv();
  const rows: Row[] = [];
  const failures: string[] = [];
  // Four at a time: each has its own namespace, database, application and Job.
  for (let i = 0; i < FAULTS.length; i += 4) {
    const batch = FAULTS.slice(i, i + 4);
    const results = await Promise.allSettled(batch.map((f, j) => runFault(cp, f, i + j, rows)));
    // Done with, whatever the outcome: their databases and applications would slow every later batch.
    await releaseNamespaces(cp);
    results.forEach((r) => r.status === 'rejected' && failures.push((r.reason as Error).message));
  }
  reportFaults(rows, failures, FAULTS.length);
});

// Its databases and applications would load the machine for every later file of the run.
test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
