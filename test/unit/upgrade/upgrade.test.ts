import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildUpgradeJob } from '../../../src/manifests/upgrade-job.ts';
import { removedSettings, upgradePaths } from '../../../src/postgres/upgrade-script.ts';
import { advance, isDone, parseState, resumeProblem, stateConfigMap, upgradeNames, type UpgradeState } from '../../../src/upgrade/state.ts';
import { manualPatchAdvice } from '../../../src/tasks/upgrade.ts';
import { rollbackWay } from '../../../src/tasks/rollback.ts';
import { isTransient } from '../../../src/upgrade/steps.ts';
import { gitopsWarning } from '../../../src/upgrade/run.ts';

const test = suite('in-place upgrade: plan, Job and record');

const jobSpec = { name: 'j', namespace: 'ns', workload: 'StatefulSet/x', image: 'tianon/postgres-upgrade:13-to-15', claim: 'data-x-0',
  mountPath: '/bitnami/postgresql', pgdata: '/bitnami/postgresql/data', from: 13, to: 15, method: 'link' as const, installUser: 'postgres',
  removedSettings: ['stats_temp_directory'], initdb: ['--encoding=UTF8', '--lc-collate=C'], uid: 1001, gid: 1001 };

const state: UpgradeState = {
  version: 1, workload: { kind: 'StatefulSet', name: 'circleci-postgresql', replicas: 1 }, workloadUid: 'uid-1', pvc: 'data-x-0', container: 'postgresql', from: 13, fromVersion: '13.22', to: 15,
  method: 'link', oldImage: 'docker.io/bitnami/postgresql:13.0.0-debian-12-r0', targetImage: 'bitnami/postgresql:15', jobImage: 'tianon/postgres-upgrade:13-to-15',
  apps: [{ kind: 'Deployment', name: 'frontend', replicas: 2 }], snapshot: null, fingerprintConfigMap: 'f', job: 'j', jobSpec, phase: 'preflight', history: [],
};

test('phases are recorded in order; a re-run resumes the same target and refuses another with the exact next commands', () => {
  const s = advance(advance(state, 'fingerprint', new Date(0)), 'apps-down', new Date(1000));
  assert.is(s.phase, 'apps-down');
  assert.equal(s.history.map((h) => h.phase), ['fingerprint', 'apps-down']);
  assert.ok(isDone(s, 'fingerprint') && isDone(s, 'apps-down') && !isDone(s, 'db-down') && !isDone(undefined, 'preflight'));
  assert.is(resumeProblem(s, 15, 'link', 'ns'), undefined);
  const p = resumeProblem(s, 17, 'link', 'ns') ?? '';
  assert.match(p, 'kubectl pgupgrade upgrade -n ns sts/circleci-postgresql --to 15 --method link');
  assert.match(p, '--rollback');
  assert.equal(parseState(stateConfigMap('x', 'ns', s)), s);
});

test('names fit a Job\'s 63-character pod label, even for long workload names', () => {
  const n = upgradeNames('w'.repeat(200), 18);
  for (const v of Object.values(n)) assert.ok(v.length <= 63, v);
});

test('settings removed between two majors, and the directories beside PGDATA', () => {
  assert.equal(removedSettings(13, 15), ['operator_precedence_warning', 'vacuum_cleanup_index_scale_factor', 'stats_temp_directory']);
  assert.equal(removedSettings(17, 18), []);
  assert.ok(removedSettings(13, 17).includes('old_snapshot_threshold'));
  assert.equal(upgradePaths('/bitnami/postgresql/data', 13, 15), { parent: '/bitnami/postgresql', next: '/bitnami/postgresql/data-15.pgupgrade-new',
    kept: '/bitnami/postgresql/data-13.preupgrade', work: '/bitnami/postgresql/.pgupgrade-work' });
});

test('the Job: backoffLimit 0, non-root as the data owner, restricted, no secret, the options as arguments', () => {
  const job = buildUpgradeJob(jobSpec);
  const spec = job.spec as { backoffLimit: number; template: { spec: { securityContext: Record<string, unknown>; containers: Array<{ command: string[]; securityContext: Record<string, unknown> }> } } };
  assert.is(spec.backoffLimit, 0);
  assert.equal(spec.template.spec.securityContext, { runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, seccompProfile: { type: 'RuntimeDefault' } });
  const c = spec.template.spec.containers[0];
  assert.equal(c?.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
  assert.equal(c?.command.slice(3), ['pgupgrade', '/bitnami/postgresql/data', '13', '15', 'link', 'postgres', 'stats_temp_directory', '--encoding=UTF8', '--lc-collate=C']);
  assert.not.match(JSON.stringify(job), /PASSWORD|secretKeyRef/);
});

test('--no-patch-workload prints the patch, and the Helm value for the Bitnami chart', () => {
  const a = manualPatchAdvice(state, 'ns');
  assert.match(a, `kubectl -n ns patch sts/circleci-postgresql --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"postgresql","image":"bitnami/postgresql:15"}]}}}}'`);
  assert.match(a, '--set image.tag=15');
  assert.match(a, 'run the same upgrade command again');
});

test('the way back: directories while the new server never started (and --swap has not run), else the snapshot', () => {
  const at = (phase: UpgradeState['phase'], method: UpgradeState['method'] = 'link') => ({ ...state, phase, method });
  assert.is(rollbackWay(at('db-down'), 0).via, 'directories');
  assert.is(rollbackWay(at('job'), 0).via, 'directories');
  assert.is(rollbackWay(at('workload-patched'), 0).via, 'directories', 'patched, never scaled up');
  assert.is(rollbackWay(at('workload-patched'), 1).via, 'snapshot', 'scaled up: it may have started');
  assert.is(rollbackWay(at('db-up'), 1).via, 'snapshot');
  assert.is(rollbackWay(at('done'), 1).via, 'snapshot');
  assert.is(rollbackWay(at('job', 'swap'), 0).via, 'snapshot', 'swap moved the old files');
  assert.is(rollbackWay(at('apps-down', 'swap'), 0).via, 'directories', 'before the snapshot, the Job has not run');
});

test('an unreachable or overloaded apiserver is waited out; a refusal is not', () => {
  assert.ok(isTransient(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })));
  assert.ok(isTransient(new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })));
  assert.ok(isTransient({ code: 503, message: 'service unavailable' }));
  assert.ok(isTransient({ code: 429, message: 'too many requests' }));
  assert.not.ok(isTransient({ code: 403, message: 'forbidden' }));
  assert.not.ok(isTransient({ code: 404, message: 'not found' }));
  assert.not.ok(isTransient(new Error('PVC is not ReadWriteOnce')));
});

test('Argo CD or Flux owning the workload is a warning before anything stops; Helm a note', () => {
  assert.equal(gitopsWarning([]), []);
  const w = gitopsWarning(['Helm release circleci', 'Argo CD application server']);
  assert.is(w.length, 2);
  assert.match(w[0] ?? '', 'Argo CD application server owns this workload and will revert the image patch');
  assert.match(w[1] ?? '', 'the next helm upgrade reverts it');
  assert.match(gitopsWarning(['Flux Kustomization apps'])[0] ?? '', 'Flux Kustomization apps owns this workload');
});

test.run();
