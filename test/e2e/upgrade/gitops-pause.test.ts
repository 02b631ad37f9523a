import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requireBinary, runAsync } from '../../support/cli/binary.ts';
import { sharedEnv, uniqueNamespace } from '../../support/cluster.ts';
import { bitnamiFixture } from '../../support/fixtures/bitnami.ts';
import { startHealer, type Healer } from '../../support/gitops-healer.ts';
import { APPLICATIONS, createApplication, createHelmRelease, createKustomization, HELMRELEASES, KUSTOMIZATIONS, specOf } from '../../support/gitops-objects.ts';
import { applyObjects, createNamespace, podName, podSql, recordedState, releaseNamespaces, waitReady } from '../../support/kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from '../../support/pg/fingerprint.ts';
import { seedCluster } from '../../support/pg/seed.ts';
import { assertWritesPresent, committedWrites, waitForWrites, withoutWrites } from '../../support/pg/writes.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';

// Real Argo CD Application and Flux Kustomization objects (the projects' own CRDs) behind the database and its
// writing application, and the test's self-healing controller honouring them: refused without --pause-gitops;
// with it, paused, upgraded, and put back exactly as they were, at the end and on --rollback.
const test = suite('upgrade --pause-gitops with real Argo CD and Flux objects');
const PASSWORD = 'GitOps-Pause-S3cret';
const POD = 'circleci-postgresql-0';
const STS = 'circleci-postgresql';
const APP = 'circleci-frontend';

interface World { ns: string; before: Fingerprint; healer: Healer; appPath: string; kustPath: string; helmPath: string; specs: Array<Record<string, unknown>> }

/** The Bitnami fixture, its StatefulSet tracked by Application `shop` and its application by Kustomization `apps`, both healing. */
async function deploy(cp: ControlPlane, prefix: string): Promise<World> {
  const ns = uniqueNamespace(prefix);
  await createNamespace(cp, ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  const objs = bitnamiFixture({ namespace: ns, major: 13, password: PASSWORD });
  for (const o of objs) {
    const meta = o.metadata as { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
    if (o.kind === 'StatefulSet') {
      meta.annotations = { ...meta.annotations, 'argocd.argoproj.io/tracking-id': `${ns}_shop:apps/StatefulSet:${ns}/${STS}` };
      // A suspended HelmRelease names it too: read, it does not heal, so it is neither refused nor paused.
      meta.labels = { ...meta.labels, 'helm.toolkit.fluxcd.io/name': 'db', 'helm.toolkit.fluxcd.io/namespace': ns };
    }
    if (o.kind === 'Deployment') meta.labels = { ...meta.labels, 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': ns };
  }
  await createApplication(cp, ns, 'shop', ns);
  await createKustomization(cp, ns, 'apps');
  await createHelmRelease(cp, ns, 'db', true);
  await applyObjects(cp, objs);
  await waitReady(cp, ns, await podName(cp, ns, 'app.kubernetes.io/name=postgresql'));
  const sql = podSql(cp, ns, POD, 'postgres');
  await seedCluster(sql, { rows: 50 });
  await waitForWrites(cp, ns, { major: 13, moreThan: 5 });
  const healer = startHealer(cp.rest, ns);
  const [appPath, kustPath, helmPath] = [`${APPLICATIONS}/namespaces/${ns}/applications/shop`, `${KUSTOMIZATIONS}/namespaces/${ns}/kustomizations/apps`,
    `${HELMRELEASES}/namespaces/${ns}/helmreleases/db`];
  return { ns, before: await takeFingerprint(sql), healer, appPath, kustPath, helmPath,
    specs: [await specOf(cp, appPath), await specOf(cp, kustPath), await specOf(cp, helmPath)] };
}

/** Deploys a world for one test and stops its healer whatever happens. */
async function inWorld(prefix: string, fn: (cp: ControlPlane, w: World) => Promise<void>): Promise<void> {
  const { cp } = await sharedEnv();
  const w = await deploy(cp, prefix);
  try {
    await fn(cp, w);
  } finally {
    await w.healer.stop();
  }
}

/** The three objects' specs are exactly what they were before the upgrade (a field it set is absent again). */
async function assertPutBack(cp: ControlPlane, w: World): Promise<void> {
  assert.equal([await specOf(cp, w.appPath), await specOf(cp, w.kustPath), await specOf(cp, w.helmPath)], w.specs,
    'the Application, the Kustomization and the (suspended) HelmRelease exactly as before');
}

const replicas = async (cp: ControlPlane, ns: string, what: string) =>
  (await cp.kubectl(['-n', ns, 'get', what, '-o', 'jsonpath={.spec.replicas}'])).stdout.trim();

/** Scales the application to 0 and waits for the healer to put it back: it heals while its Kustomization does. */
async function provesHealing(cp: ControlPlane, w: World): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
  await cp.kubectl(['-n', w.ns, 'scale', `deploy/${APP}`, '--replicas=0']);
  for (let i = 0; i < 30 && (await replicas(cp, w.ns, `deploy/${APP}`)) !== '1'; i++) await new Promise((r) => setTimeout(r, 300));
  assert.is(await replicas(cp, w.ns, `deploy/${APP}`), '1', 'the healer put the application back');
}

/** The built binary against the test cluster. */
const pgupgrade = (cp: ControlPlane, args: string[]) => runAsync(requireBinary(), args, { KUBECONFIG: cp.kubeconfig }, 600_000);

/** The database runs `major` with every seeded row and every write the application saw committed. */
async function assertDataOn(cp: ControlPlane, w: World, major: number): Promise<void> {
  await waitReady(cp, w.ns, POD);
  const sql = podSql(cp, w.ns, POD, 'postgres');
  assert.is((await sql('postgres', 'show server_version_num')).trim().slice(0, 2), String(major));
  assert.equal(compareFingerprints(withoutWrites(w.before), withoutWrites(await takeFingerprint(sql)), { extensionUpdates: major !== 13 }), []);
  await assertWritesPresent(sql, await committedWrites(cp, w.ns));
}

/** `--pause-gitops --no-patch-workload`: it stops after the Job, everything down, both objects still paused. Its stderr. */
async function stopPaused(cp: ControlPlane, w: World): Promise<string> {
  const r = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--pause-gitops', '--no-patch-workload', '-y']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, 'Left paused until the resumed run ends');
  assert.is((await specOf(cp, w.kustPath)).suspend, true);
  assert.not.ok((await specOf(cp, w.appPath) as { syncPolicy?: { automated?: unknown } }).syncPolicy?.automated);
  return r.stderr;
}

/** Samples both objects' specs while the upgrade runs: were they ever seen paused? */
function watchPaused(cp: ControlPlane, w: World): { stop: () => Promise<{ argo: boolean; flux: boolean }> } {
  const seen = { argo: false, flux: false };
  let running = true;
  const loop = (async () => {
    while (running) {
      const [app, kust] = await Promise.all([specOf(cp, w.appPath), specOf(cp, w.kustPath)]).catch((): Array<Record<string, unknown>> => [{}, {}]) as Array<Record<string, unknown>>;
      if (app?.syncPolicy && !(app.syncPolicy as { automated?: unknown }).automated) seen.argo = true;
      if (kust?.suspend === true) seen.flux = true;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { stop: async () => { running = false; await loop; return seen; } };
}

test('without --pause-gitops: refused before any downtime, naming both objects and their pause commands; nothing changed', () => inWorld('gitops-refuse', async (cp, w) => {
  await provesHealing(cp, w);
  const healedBefore = w.healer.healed.length;
  const r = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '-y']);
  const out = r.stdout + r.stderr;
  assert.is(r.code, 2, out);
  assert.match(out, `Argo CD Application shop (namespace ${w.ns}) manages StatefulSet ${STS}`);
  assert.match(out, `kubectl patch application shop -n ${w.ns} --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`);
  assert.match(out, `Flux Kustomization apps (namespace ${w.ns}) manages Deployment ${APP}`);
  assert.match(out, `flux suspend kustomization apps -n ${w.ns}`);
  assert.match(out, 'Application read: automated sync with selfHeal');
  assert.not.match(out, 'HelmRelease db', 'the suspended HelmRelease is read and does not heal: not refused');
  assert.match(out, '--pause-gitops');
  // Not with the dump method (not built for it), nor beside --gitops-paused: refused as usage, before anything.
  const dump = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--method', 'dump', '--pause-gitops', '-y']);
  assert.is(dump.code, 2, dump.stdout + dump.stderr);
  assert.match(dump.stderr, '--pause-gitops does not go with --method dump (not built for it yet: pause the controller yourself, then pass --gitops-paused)');
  const both = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--gitops-paused', '--pause-gitops', '-y']);
  assert.is(both.code, 2, both.stdout + both.stderr);
  assert.match(both.stderr, '--pause-gitops does not go with --gitops-paused');
  await assertPutBack(cp, w);
  assert.is(await replicas(cp, w.ns, `sts/${STS}`), '1');
  assert.is(await recordedState(cp, w.ns), undefined, 'no record: nothing started');
  assert.is(w.healer.healed.length, healedBefore, 'nothing was scaled down for the controller to heal');
}));

test('--pause-gitops: both paused while it runs, upgraded to 15, both put back exactly, nothing lost', () => inWorld('gitops-pause', async (cp, w) => {
  await provesHealing(cp, w);
  const healedBefore = w.healer.healed.length;
  const dry = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--pause-gitops', '--dry-run']);
  assert.is(dry.code, 0, dry.stdout + dry.stderr);
  assert.match(dry.stdout, `pause Application ${w.ns}/shop (recorded first)`);
  assert.match(dry.stdout, `resume Kustomization ${w.ns}/apps`);
  assert.match(dry.stdout, /automated:\n(\s+\w+: \w+\n)*\s+selfHeal: true/, 'the value to put back, as read now');
  assert.match(dry.stdout, 'suspend: null');
  const watch = watchPaused(cp, w);
  const r = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--pause-gitops', '-y']);
  const seen = await watch.stop();
  const out = r.stdout + r.stderr;
  assert.is(r.code, 0, out);
  assert.match(out, `Argo CD Application ${w.ns}/shop: spec.syncPolicy.automated removed`);
  assert.match(out, `Pause the GitOps controllers: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`);
  assert.match(out, `Resumed as they were: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`);
  assert.match(out, 'set its image to');
  assert.equal(seen, { argo: true, flux: true }, 'both were seen paused while the upgrade ran');
  await assertPutBack(cp, w);
  assert.is(w.healer.healed.length, healedBefore, `nothing was healed while paused: ${w.healer.healed.join('; ')}`);
  await assertDataOn(cp, w, 15);
  // Resumed for real: the healer corrects drift again.
  await provesHealing(cp, w);
}));

test('--pause-gitops, then --rollback: back on 13, and both objects put back exactly', () => inWorld('gitops-rollback', async (cp, w) => {
  // Stopped with everything down and both still paused: the rollback must resume them.
  await stopPaused(cp, w);
  const back = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--rollback', '-y']);
  assert.is(back.code, 0, back.stdout + back.stderr);
  await assertPutBack(cp, w);
  await assertDataOn(cp, w, 13);
}));

test('a run stopped with both paused (--no-patch-workload): the resumed run, without the flag, puts them back at its end', () => inWorld('gitops-resume', async (cp, w) => {
  const stderr = await stopPaused(cp, w);
  // The user's own change, as the advice prints it (standing in for the change in Git).
  const patch = /patch sts\/circleci-postgresql --type strategic -p '(\{.*?\})'/.exec(stderr)?.[1];
  assert.ok(patch, stderr);
  await cp.kubectl(['-n', w.ns, 'patch', `sts/${STS}`, '--type', 'strategic', '-p', patch]);
  const again = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '-y']);
  assert.is(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout + again.stderr, `Resume the GitOps controllers as they were: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`);
  await assertPutBack(cp, w);
  await assertDataOn(cp, w, 15);
}));

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
