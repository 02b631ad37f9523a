import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  describeStrategy,
  isRecordedStrategy,
  RECREATE_PATCH,
  restoreStrategyPatch,
  rollingStrategyOf,
} from '../../../src/postgres/strategy.ts';
import { stateProblem } from '../../../src/state/parse-state.ts';
import type { UpgradeState } from '../../../src/state/state.ts';
import { plannedObjects } from '../../../src/commands/upgrade/apply.ts';
import type { UpgradeCtx, UpgradeOptions } from '../../../src/commands/upgrade/ctx.ts';

const test = suite(
  'a RollingUpdate Deployment is Recreate while the database is stopped, and gets its own strategy back',
);

const worst = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };

test("set aside: a Deployment's RollingUpdate, as it is (or unset: the default); not Recreate, not a StatefulSet", () => {
  assert.equal(rollingStrategyOf({ kind: 'Deployment', strategy: worst }), worst);
  assert.equal(
    rollingStrategyOf({
      kind: 'Deployment',
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    }),
    { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
  );
  assert.equal(rollingStrategyOf({ kind: 'Deployment' }), { type: 'RollingUpdate' });
  assert.is(rollingStrategyOf({ kind: 'Deployment', strategy: { type: 'Recreate' } }), undefined);
  assert.is(rollingStrategyOf({ kind: 'StatefulSet' }), undefined);
});

test('the patches: Recreate drops rollingUpdate (the apiserver refuses both); the restore puts the values back exactly', () => {
  assert.equal(RECREATE_PATCH, { spec: { strategy: { type: 'Recreate', rollingUpdate: null } } });
  assert.equal(restoreStrategyPatch(worst), { spec: { strategy: worst } });
  assert.equal(restoreStrategyPatch({ type: 'RollingUpdate' }), {
    spec: { strategy: { type: 'RollingUpdate', rollingUpdate: null } },
  });
  assert.is(describeStrategy(worst), 'RollingUpdate (maxSurge 1, maxUnavailable 0)');
});

test('the record keeps the strategy across a resume; one that could not be put back is refused', () => {
  assert.ok(
    isRecordedStrategy(worst) &&
      isRecordedStrategy({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%' } }) &&
      isRecordedStrategy({ type: 'RollingUpdate' }),
  );
  for (const bad of [
    { type: 'Recreate' },
    { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1.5 } },
    { type: 'RollingUpdate', rollingUpdate: 'x' },
    null,
  ]) {
    assert.not.ok(isRecordedStrategy(bad), JSON.stringify(bad));
  }
});

const jobSpec = {
  name: 'pgupgrade-postgres-to-17',
  namespace: 'ns',
  workload: 'Deployment/postgres',
  image: 'tianon/postgres-upgrade:15-to-17',
  claim: 'pgdata',
  mountPath: '/var/lib/postgresql/data',
  pgdata: '/var/lib/postgresql/data/pgdata',
  from: 15,
  to: 17,
  method: 'link' as const,
  installUser: 'admin',
  removedSettings: [],
  initdb: [],
  uid: 999,
  gid: 999,
};
const state: UpgradeState = {
  version: 1,
  workload: { kind: 'Deployment', name: 'postgres', replicas: 1 },
  workloadUid: 'u',
  pvc: 'pgdata',
  container: 'postgres',
  from: 15,
  fromVersion: '15.14',
  to: 17,
  method: 'link',
  oldImage: 'postgres:15',
  targetImage: 'postgres:17',
  jobImage: jobSpec.image,
  apps: [],
  snapshot: null,
  fingerprintConfigMap: 'f',
  job: jobSpec.name,
  jobSpec,
  phase: 'preflight',
  history: [],
  strategy: worst,
};

test('the state validates the strategy; --dry-run lists the switch before the stop and the restore after the start', () => {
  assert.is(stateProblem(JSON.parse(JSON.stringify(state))), undefined);
  assert.match(stateProblem({ ...state, strategy: { type: 'Recreate' } }) ?? 'accepted', 'strategy');
  const ctx = {
    state,
    job: jobSpec,
    names: { state: 's', fingerprint: 'f', job: jobSpec.name },
    d: { namespace: 'ns', pvc: { metadata: { name: 'pgdata' }, accessModes: ['ReadWriteOnce'] } },
  } as unknown as UpgradeCtx;
  const steps = plannedObjects(ctx, {
    snapshot: false,
    patchWorkload: true,
    fullVerify: false,
  } as UpgradeOptions) as Array<{ step: string; patch?: { spec?: unknown } }>;
  const at = (re: RegExp) => steps.findIndex((s) => re.test(s.step));
  assert.ok(
    at(/aside: Recreate/) >= 0 && at(/aside: Recreate/) < at(/^stop the database/),
    steps.map((s) => s.step).join(' | '),
  );
  assert.ok(at(/strategy back/) > at(/^start the database/));
  assert.equal(steps[at(/aside/)]?.patch?.spec, RECREATE_PATCH.spec);
  assert.equal(steps[at(/strategy back/)]?.patch?.spec, { strategy: worst });
  const plain = plannedObjects(
    { ...ctx, state: { ...state, strategy: undefined } } as UpgradeCtx,
    { snapshot: false, patchWorkload: true } as UpgradeOptions,
  ) as Array<{ step: string }>;
  assert.not.ok(
    plain.some((s) => /strategy/.test(s.step)),
    'a Recreate Deployment or a StatefulSet: nothing to set aside',
  );
});

test.run();
