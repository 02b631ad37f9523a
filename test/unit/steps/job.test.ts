import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../../src/exit-codes.ts';
import type { KObject } from '../../../src/k8s/cluster.ts';
import { verifyOwnJob } from '../../../src/steps/job.ts';

const job = (labels: Record<string, string>, image: string, args: string[]): KObject => ({ apiVersion: 'batch/v1', kind: 'Job',
  metadata: { name: 'pgupgrade-db-to-15', namespace: 'ns', labels }, spec: { template: { spec: { containers: [{ name: 'upgrade', image, command: ['sh', '-c', 'x'], args }] } } } });
const OWN = { 'app.kubernetes.io/managed-by': 'kubectl-pgupgrade', 'pgupgrade.kubectl.io/role': 'upgrade' };
const wanted = job(OWN, 'tianon/postgres-upgrade:13-to-15', ['/data']);

test('an earlier run\'s Job of the same work is taken', () => {
  verifyOwnJob(job({ ...OWN, 'controller-uid': 'u' }, 'tianon/postgres-upgrade:13-to-15', ['/data']), wanted);
});

test('a Job of the expected name without the plugin\'s labels, or with another image or arguments, stops the run', () => {
  for (const [found, why] of [[job({}, 'tianon/postgres-upgrade:13-to-15', ['/data']), 'lacks the plugin\'s labels'],
    [job(OWN, 'evil/image:1', ['/data']), 'image, command or arguments differ'],
    [job(OWN, 'tianon/postgres-upgrade:13-to-15', ['/elsewhere']), 'image, command or arguments differ']] as const) {
    const err = (() => { try { verifyOwnJob(found, wanted); } catch (e) { return e; } })();
    assert.instance(err, CliError);
    assert.match((err as CliError).message, `Job ns/pgupgrade-db-to-15 exists but is not the one this run would create (it${why.startsWith('lacks') ? ' ' : 's '}${why}`);
  }
});

test.run();
