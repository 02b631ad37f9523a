import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync, type RunResult } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { resourceVersions } from '../../support/kube/helpers.ts';
import { waitFor } from '../../support/process.ts';
import { assertNoSecret, deployCase, upgradeCli, verifyUpgraded, type Deployed } from '../../support/upgrade-cases.ts';

const test = suite('kubectl pgupgrade upgrade of a database that is not running');
const PASSWORD = 'Stopped-E2E-S3cret';
const outputs: RunResult[] = [];

// A Bitnami StatefulSet scaled to 0 by its owner (its application still deployed, failing to connect meanwhile).
const stopped: Deployed = {
  name: 'Bitnami 13 → 15, link, the database scaled to 0',
  file: 'upgrade',
  flavour: 'bitnami',
  from: 13,
  to: 15,
  method: 'link',
  stopped: true,
  ns: uniqueNamespace('stopped-bitnami'),
  pod: '',
};

test('a database scaled to 0 is upgraded: read through a probe pod, started on the new major, verified against the snapshot', async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, stopped, PASSWORD);
  await cp.kubectl(['-n', stopped.ns, 'scale', 'sts/circleci-postgresql', '--replicas=0']);
  await waitFor(
    'the database pod to go',
    async () =>
      (
        await cp.kubectl(['-n', stopped.ns, 'get', 'pods', '-l', 'app.kubernetes.io/name=postgresql', '-o', 'name'])
      ).stdout.trim() === '',
    120_000,
  );

  // --no-snapshot would leave nothing to read the reference from: refused, nothing changed. The StatefulSet
  // controller writes its status a moment after the pod is gone: wait until the namespace is still for 2 s.
  let before = '';
  await waitFor(
    'the scaled-down StatefulSet to settle',
    async () => {
      const a = await resourceVersions(cp, stopped.ns);
      await new Promise((r) => setTimeout(r, 2000));
      before = await resourceVersions(cp, stopped.ns);
      return a === before;
    },
    60_000,
  );
  const refused = await upgradeCli(cp, ['-n', stopped.ns, '--to', '15', '--no-snapshot', '-y'], outputs);
  assert.is(refused.code, 2, refused.stdout + refused.stderr);
  assert.match(refused.stderr, 'is stopped: its reference fingerprint can only be read from the snapshot');
  assert.is(await resourceVersions(cp, stopped.ns), before, 'nothing changed');

  const r = await upgradeCli(cp, ['-n', stopped.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, 'stopped (0 replicas): it is started on PostgreSQL 15 to verify the data');
  // The upgrade Job's pod stays (cleanup removes it); no probe or reference pod does.
  const probes = (
    await cp.kubectl([
      '-n',
      stopped.ns,
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/managed-by=kubectl-pgupgrade,!job-name',
      '-o',
      'name',
    ])
  ).stdout.trim();
  assert.is(probes, '', 'no probe or reference pod is left');
  // verifyUpgraded: 15 runs (one replica), the tests' own fingerprint equals the one before, every committed write is
  // there and the application writes again, the snapshot is ready, the record is done, a re-run has nothing to do.
  await verifyUpgraded(cp, stopped, r, outputs, '0');
});

// A helm upgrade moved the image to 15 with the data still 13: the new pod crash-loops ("database files are
// incompatible with server").
const bumped: Deployed = {
  name: 'Bitnami 13 data under a 15 image, crash-looping',
  file: 'upgrade',
  flavour: 'bitnami',
  from: 13,
  to: 15,
  method: 'link',
  stopped: true,
  ns: uniqueNamespace('bumped-bitnami'),
  pod: '',
};

test("a crash-looping bumped image: check names it and the way out; upgrade --to the image's major upgrades the data and keeps the image", async () => {
  const { cp } = await sharedEnv();
  await deployCase(cp, bumped, PASSWORD);
  const image15 = 'docker.io/bitnami/postgresql:15.0.0-debian-12-r0';
  await cp.kubectl(['-n', bumped.ns, 'set', 'image', 'sts/circleci-postgresql', `postgresql=${image15}`]);
  await waitFor(
    'the bumped pod to crash-loop',
    async () => {
      const r = await cp.kubectl(
        [
          '-n',
          bumped.ns,
          'get',
          'pod',
          'circleci-postgresql-0',
          '-o',
          'jsonpath={.spec.containers[0].image} {.status.containerStatuses[0].restartCount}',
        ],
        { allowFail: true },
      );
      const [img, restarts] = r.stdout.trim().split(' ');
      return img === image15 && Number(restarts) >= 1;
    },
    180_000,
  );

  // The crash-looping pod's own status moves on (restarts): everything else must stay as it was.
  const settled = async () => (await resourceVersions(cp, bumped.ns)).replace(/Pod\/circleci-postgresql-0=\d+ /, '');
  const before = await settled();
  const check = await runAsync(
    requireBinary(),
    ['check', '-n', bumped.ns, '--to', '15'],
    { KUBECONFIG: cp.kubeconfig },
    120_000,
  );
  outputs.push(check);
  assert.is(check.code, 3, check.stdout + check.stderr);
  assert.match(check.stderr, /crash-loops: its image \S+ runs PostgreSQL 15, but the data on PVC \S+ is PostgreSQL 13/);
  assert.match(check.stderr, `kubectl pgupgrade upgrade -n ${bumped.ns} sts/circleci-postgresql --to 15`);
  assert.match(check.stderr, 'initialized by PostgreSQL version 13, which is not compatible with this version 15');
  const wrongTo = await upgradeCli(cp, ['-n', bumped.ns, '--to', '17', '-y'], outputs);
  assert.is(wrongTo.code, 2, wrongTo.stdout + wrongTo.stderr);
  assert.match(wrongTo.stderr, "--to 17 is not the image's major");
  assert.is(await settled(), before, 'check and a refused upgrade change nothing');

  const r = await upgradeCli(cp, ['-n', bumped.ns, '--to', '15', '--method', 'link', '-y', '-o', 'json'], outputs);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, 'crash-loops: its image');
  const sts = JSON.parse(
    (await cp.kubectl(['-n', bumped.ns, 'get', 'sts', 'circleci-postgresql', '-o', 'json'])).stdout,
  ) as { spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } } };
  assert.is(sts.spec.template.spec.containers[0]?.image, image15, 'the image is kept');
  assert.is(sts.spec.replicas, 1);
  await verifyUpgraded(cp, bumped, r, outputs, '0');
});

test('no secret value appears in any output or in the apiserver audit log', async () => {
  assertNoSecret((await sharedEnv()).cp, outputs, PASSWORD, 7);
});

test.run();
