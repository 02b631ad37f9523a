import * as assert from 'uvu/assert';
import { requireBinary, runAsync } from './cli/binary.ts';
import { sharedEnv, uniqueNamespace } from './cluster.ts';
import { bitnamiFixture } from './fixtures/bitnami.ts';
import { startHealer, type Healer } from './gitops-healer.ts';
import {
  APPLICATIONS,
  createApplication,
  createHelmRelease,
  createKustomization,
  HELMRELEASES,
  KUSTOMIZATIONS,
  specOf,
} from './gitops-objects.ts';
import { applyObjects, createNamespace, podName, podSql, waitReady } from './kube/helpers.ts';
import { compareFingerprints, takeFingerprint, type Fingerprint } from './pg/fingerprint.ts';
import { seedCluster } from './pg/seed.ts';
import { assertWritesPresent, committedWrites, waitForWrites, withoutWrites } from './pg/writes.ts';
import type { ControlPlane } from './k8s/control-plane.ts';

// The world of the --pause-gitops tests: a Bitnami 13 StatefulSet tracked by a real Argo CD Application, its writing
// application by a real Flux Kustomization, a suspended HelmRelease naming the database too, and the test's
// self-healing controller honouring them.
export const PASSWORD = 'GitOps-Pause-S3cret';
export const POD = 'circleci-postgresql-0';
export const STS = 'circleci-postgresql';
export const APP = 'circleci-frontend';

export interface World {
  ns: string;
  before: Fingerprint;
  healer: Healer;
  appPath: string;
  kustPath: string;
  helmPath: string;
  specs: Array<Record<string, unknown>>;
}

/** The Bitnami fixture, its StatefulSet tracked by Application `shop` and its application by Kustomization `apps`, both healing. */
async function deploy(cp: ControlPlane, prefix: string): Promise<World> {
  const ns = uniqueNamespace(prefix);
  await createNamespace(cp, ns, { 'pod-security.kubernetes.io/enforce': 'restricted' });
  const objs = bitnamiFixture({ namespace: ns, major: 13, password: PASSWORD });
  for (const o of objs) {
    const meta = o.metadata as { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
    if (o.kind === 'StatefulSet') {
      meta.annotations = {
        ...meta.annotations,
        'argocd.argoproj.io/tracking-id': `${ns}_shop:apps/StatefulSet:${ns}/${STS}`,
      };
      // A suspended HelmRelease names it too: read, it does not heal, so it is neither refused nor paused.
      meta.labels = { ...meta.labels, 'helm.toolkit.fluxcd.io/name': 'db', 'helm.toolkit.fluxcd.io/namespace': ns };
    }
    if (o.kind === 'Deployment')
      meta.labels = {
        ...meta.labels,
        'kustomize.toolkit.fluxcd.io/name': 'apps',
        'kustomize.toolkit.fluxcd.io/namespace': ns,
      };
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
  const [appPath, kustPath, helmPath] = [
    `${APPLICATIONS}/namespaces/${ns}/applications/shop`,
    `${KUSTOMIZATIONS}/namespaces/${ns}/kustomizations/apps`,
    `${HELMRELEASES}/namespaces/${ns}/helmreleases/db`,
  ];
  return {
    ns,
    before: await takeFingerprint(sql),
    healer,
    appPath,
    kustPath,
    helmPath,
    specs: [await specOf(cp, appPath), await specOf(cp, kustPath), await specOf(cp, helmPath)],
  };
}

/** Deploys a world for one test and stops its healer whatever happens. */
export async function inWorld(prefix: string, fn: (cp: ControlPlane, w: World) => Promise<void>): Promise<void> {
  const { cp } = await sharedEnv();
  const w = await deploy(cp, prefix);
  try {
    await fn(cp, w);
  } finally {
    await w.healer.stop();
  }
}

/** The three objects' specs are exactly what they were before the upgrade (a field it set is absent again). */
export async function assertPutBack(cp: ControlPlane, w: World): Promise<void> {
  assert.equal(
    [await specOf(cp, w.appPath), await specOf(cp, w.kustPath), await specOf(cp, w.helmPath)],
    w.specs,
    'the Application, the Kustomization and the (suspended) HelmRelease exactly as before',
  );
}

export const replicas = async (cp: ControlPlane, ns: string, what: string) =>
  (await cp.kubectl(['-n', ns, 'get', what, '-o', 'jsonpath={.spec.replicas}'])).stdout.trim();

/** Scales the application to 0 and waits for the healer to put it back: it heals while its Kustomization does. */
export async function provesHealing(cp: ControlPlane, w: World): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
  await cp.kubectl(['-n', w.ns, 'scale', `deploy/${APP}`, '--replicas=0']);
  for (let i = 0; i < 30 && (await replicas(cp, w.ns, `deploy/${APP}`)) !== '1'; i++)
    await new Promise((r) => setTimeout(r, 300));
  assert.is(await replicas(cp, w.ns, `deploy/${APP}`), '1', 'the healer put the application back');
}

/** The built binary against the test cluster. */
export const pgupgrade = (cp: ControlPlane, args: string[]) =>
  runAsync(requireBinary(), args, { KUBECONFIG: cp.kubeconfig }, 600_000);

/** Samples both objects' specs while the upgrade runs: were they ever seen paused? */
export function watchPaused(cp: ControlPlane, w: World): { stop: () => Promise<{ argo: boolean; flux: boolean }> } {
  const seen = { argo: false, flux: false };
  let running = true;
  const loop = (async () => {
    while (running) {
      const [app, kust] = (await Promise.all([specOf(cp, w.appPath), specOf(cp, w.kustPath)]).catch(
        (): Array<Record<string, unknown>> => [{}, {}],
      )) as Array<Record<string, unknown>>;
      if (app?.syncPolicy && !(app.syncPolicy as { automated?: unknown }).automated) seen.argo = true;
      if (kust?.suspend === true) seen.flux = true;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** The database runs `major` with every seeded row and every write the application saw committed. */
export async function assertDataOn(cp: ControlPlane, w: World, major: number, pod = POD): Promise<void> {
  await waitReady(cp, w.ns, pod);
  const sql = podSql(cp, w.ns, pod, 'postgres');
  assert.is((await sql('postgres', 'show server_version_num')).trim().slice(0, 2), String(major));
  assert.equal(
    compareFingerprints(withoutWrites(w.before), withoutWrites(await takeFingerprint(sql)), {
      extensionUpdates: major !== 13,
    }),
    [],
  );
  await assertWritesPresent(sql, await committedWrites(cp, w.ns));
}
