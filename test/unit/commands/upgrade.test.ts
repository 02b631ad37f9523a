import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { buildUpgradeJob } from '../../../src/manifests/upgrade-job.ts';
import { removedSettings, upgradePaths } from '../../../src/postgres/upgrade-script.ts';
import { parseState } from '../../../src/state/parse-state.ts';
import {
  advance,
  isDone,
  resumeProblem,
  stateConfigMap,
  upgradeNames,
  type UpgradeState,
} from '../../../src/state/state.ts';
import { manualPatchAdvice } from '../../../src/commands/upgrade/planned.ts';
import { rollbackWay } from '../../../src/commands/upgrade/rollback.ts';
import { shouldAwaitSnapshotBeforeStart } from '../../../src/commands/upgrade/start.ts';
import { stopNote } from '../../../src/commands/upgrade/quiesce.ts';
import { isTransient } from '../../../src/k8s/retry.ts';
import { gitopsWarning } from '../../../src/commands/upgrade/confirm-upgrade.ts';

const test = suite('in-place upgrade: plan, Job and record');

const jobSpec = {
  name: 'j',
  namespace: 'ns',
  workload: 'StatefulSet/x',
  image: 'tianon/postgres-upgrade:13-to-15',
  claim: 'data-x-0',
  mountPath: '/bitnami/postgresql',
  pgdata: '/bitnami/postgresql/data',
  from: 13,
  to: 15,
  method: 'link' as const,
  installUser: 'postgres',
  removedSettings: ['stats_temp_directory'],
  initdb: ['--encoding=UTF8', '--lc-collate=C'],
  uid: 1001,
  gid: 1001,
};

const state: UpgradeState = {
  version: 1,
  workload: { kind: 'StatefulSet', name: 'circleci-postgresql', replicas: 1 },
  workloadUid: 'uid-1',
  pvc: 'data-x-0',
  container: 'postgresql',
  from: 13,
  fromVersion: '13.22',
  to: 15,
  method: 'link',
  oldImage: 'docker.io/bitnami/postgresql:13.0.0-debian-12-r0',
  targetImage: 'bitnami/postgresql:15',
  jobImage: 'tianon/postgres-upgrade:13-to-15',
  apps: [{ kind: 'Deployment', name: 'frontend', replicas: 2 }],
  snapshot: null,
  fingerprintConfigMap: 'f',
  job: 'j',
  jobSpec,
  phase: 'preflight',
  history: [],
};

test('phases are recorded in order; a re-run resumes the same target and refuses another with the exact next commands', () => {
  const s = advance(advance(state, 'apps-down', new Date(0)), 'fingerprint', new Date(1000));
  assert.is(s.phase, 'fingerprint');
  assert.equal(
    s.history.map((h) => h.phase),
    ['apps-down', 'fingerprint'],
  );
  assert.ok(
    isDone(s, 'fingerprint') && isDone(s, 'apps-down') && !isDone(s, 'db-down') && !isDone(undefined, 'preflight'),
  );
  assert.is(resumeProblem(s, 15, 'link', 'ns'), undefined);
  const p = resumeProblem(s, 17, 'link', 'ns') ?? '';
  assert.match(p, 'kubectl pgupgrade upgrade -n ns sts/circleci-postgresql --to 15 --method link');
  assert.match(p, '--rollback');
  assert.equal(parseState(stateConfigMap('x', 'ns', s)), s);
});

test("names fit a Job's 63-character pod label, even for long workload names", () => {
  const n = upgradeNames('w'.repeat(200), 18);
  for (const v of Object.values(n)) assert.ok(v.length <= 63, v);
});

test('settings removed between two majors, and the directories beside PGDATA', () => {
  assert.equal(removedSettings(13, 15), [
    'operator_precedence_warning',
    'vacuum_cleanup_index_scale_factor',
    'stats_temp_directory',
  ]);
  assert.equal(removedSettings(17, 18), []);
  assert.equal(removedSettings(12, 14), [
    'wal_keep_segments',
    'operator_precedence_warning',
    'vacuum_cleanup_index_scale_factor',
  ]);
  assert.ok(removedSettings(10, 12).includes('replacement_sort_tuples'));
  assert.ok(removedSettings(13, 17).includes('old_snapshot_threshold'));
  assert.equal(upgradePaths('/bitnami/postgresql/data', 13, 15), {
    parent: '/bitnami/postgresql',
    next: '/bitnami/postgresql/data-15.pgupgrade-new',
    kept: '/bitnami/postgresql/data-13.preupgrade',
    work: '/bitnami/postgresql/.pgupgrade-work',
  });
});

test('the Job: backoffLimit 0, non-root as the data owner, restricted, no secret, the options as arguments', () => {
  const job = buildUpgradeJob(jobSpec);
  const spec = job.spec as {
    backoffLimit: number;
    template: {
      spec: {
        securityContext: Record<string, unknown>;
        containers: Array<{ command: string[]; securityContext: Record<string, unknown> }>;
      };
    };
  };
  assert.is(spec.backoffLimit, 0);
  assert.equal(spec.template.spec.securityContext, {
    runAsNonRoot: true,
    runAsUser: 1001,
    runAsGroup: 1001,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  const c = spec.template.spec.containers[0];
  assert.equal(c?.securityContext, {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
  });
  assert.equal(c?.command.slice(3), [
    'pgupgrade',
    '/bitnami/postgresql/data',
    '13',
    '15',
    'link',
    'postgres',
    'stats_temp_directory',
    '',
    '',
    '--encoding=UTF8',
    '--lc-collate=C',
  ]);
  assert.not.match(JSON.stringify(job), /PASSWORD|secretKeyRef/);
});

test('--no-patch-workload prints the patch, and the Helm value for the Bitnami chart', () => {
  const a = manualPatchAdvice(state, 'ns');
  assert.match(
    a,
    `kubectl -n ns patch sts/circleci-postgresql --type strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"postgresql","image":"bitnami/postgresql:15"}]}}}}'`,
  );
  assert.match(a, '--set image.repository=bitnami/postgresql,image.tag=15');
  const legacy = manualPatchAdvice({ ...state, targetImage: 'bitnamilegacy/postgresql:15.10.0-debian-12-r2' }, 'ns');
  assert.match(
    legacy,
    '--set image.repository=bitnamilegacy/postgresql,image.tag=15.10.0-debian-12-r2,global.security.allowInsecureImages=true',
  );
  assert.match(a, 'run the same upgrade command again');
});

test('the way back is decided from the record, never from what runs now: directories until the new server may have started', () => {
  const at = (phase: UpgradeState['phase'], method: UpgradeState['method'] = 'link') => ({ ...state, phase, method });
  assert.is(rollbackWay(at('db-down')).via, 'directories');
  assert.is(rollbackWay(at('job')).via, 'directories');
  assert.is(rollbackWay(at('workload-patched')).via, 'directories', 'patched, never started');
  // --no-patch-workload hands the start over to Helm or Git: the new server may have run since, unrecorded.
  assert.is(
    rollbackWay({ ...at('job'), handedOverAt: '2026-12-07T00:00:00.000Z' }).via,
    'snapshot',
    'handed over: it may have run',
  );
  // db-start is recorded BEFORE the first scale-up: a run interrupted there (replicas back at 0 or not) may have
  // started the new server on link-mode files, which the old cluster must then never be started on again.
  assert.is(rollbackWay(at('db-start')).via, 'snapshot', 'the start was under way: it may have run');
  assert.is(rollbackWay(at('db-up')).via, 'snapshot');
  assert.is(rollbackWay(at('done')).via, 'snapshot');
  assert.is(rollbackWay(at('job-started', 'swap')).via, 'snapshot', 'the Job may have begun moving the old files');
  assert.is(rollbackWay(at('job', 'swap')).via, 'snapshot', 'swap moved the old files');
  assert.is(rollbackWay(at('snapshot', 'swap')).via, 'directories', 'before the Job, --swap has moved nothing');
  assert.is(rollbackWay(at('job-started', 'copy')).via, 'directories', 'copy never touches the old files');
});

test('the new server waits for a ready snapshot only where its first start passes the point of no return', () => {
  const s = (method: UpgradeState['method'], snapshot: string | null) => ({ ...state, method, snapshot });
  assert.ok(shouldAwaitSnapshotBeforeStart(s('link', 'snap')));
  assert.ok(shouldAwaitSnapshotBeforeStart(s('swap', 'snap')));
  assert.not.ok(shouldAwaitSnapshotBeforeStart(s('copy', 'snap')), 'copy leaves the old cluster whole');
  assert.not.ok(shouldAwaitSnapshotBeforeStart(s('link', null)), '--no-snapshot: the user chose');
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

test("the applications' stop is timed, and one that sat out its grace period is named with the reason", () => {
  assert.is(stopNote(0.8, 30), ', stopped in 0.8 s');
  assert.is(
    stopNote(30.2, 30),
    ', stopped in 30.2 s: it did not stop on SIGTERM and was killed after its terminationGracePeriodSeconds (30 s)',
  );
});

test.run();
