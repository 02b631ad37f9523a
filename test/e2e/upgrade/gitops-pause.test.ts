import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { specOf } from '../../support/gitops-objects.ts';
import {
  assertDataOn,
  assertPutBack,
  inWorld,
  pgupgrade,
  provesHealing,
  replicas,
  STS,
  APP,
  watchPaused,
  type World,
} from '../../support/gitops-world.ts';
import { sharedEnv } from '../../support/cluster.ts';
import { recordedState, releaseNamespaces } from '../../support/kube/helpers.ts';
import type { ControlPlane } from '../../support/k8s/control-plane.ts';

// Real Argo CD Application and Flux Kustomization objects (the projects' own CRDs) behind the database and its
// writing application, and the test's self-healing controller honouring them: refused without --pause-gitops;
// with it, paused, upgraded, and put back exactly as they were, at the end and on --rollback.
const test = suite('upgrade --pause-gitops with real Argo CD and Flux objects');

/** `--pause-gitops --no-patch-workload`: it stops after the Job, everything down, both objects still paused. Its stderr. */
async function stopPaused(cp: ControlPlane, w: World): Promise<string> {
  const r = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--pause-gitops', '--no-patch-workload', '-y']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, 'Left paused until the resumed run ends');
  assert.is((await specOf(cp, w.kustPath)).suspend, true);
  assert.not.ok(((await specOf(cp, w.appPath)) as { syncPolicy?: { automated?: unknown } }).syncPolicy?.automated);
  return r.stderr;
}

test('without --pause-gitops: refused before any downtime, naming both objects and their pause commands; nothing changed', () =>
  inWorld('gitops-refuse', async (cp, w) => {
    await provesHealing(cp, w);
    const healedBefore = w.healer.healed.length;
    const r = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '-y']);
    const out = r.stdout + r.stderr;
    assert.is(r.code, 2, out);
    assert.match(out, `Argo CD Application shop (namespace ${w.ns}) manages StatefulSet ${STS}`);
    assert.match(
      out,
      `kubectl patch application shop -n ${w.ns} --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`,
    );
    assert.match(out, `Flux Kustomization apps (namespace ${w.ns}) manages Deployment ${APP}`);
    assert.match(out, `flux suspend kustomization apps -n ${w.ns}`);
    assert.match(out, 'Application read: automated sync with selfHeal');
    assert.not.match(out, 'HelmRelease db', 'the suspended HelmRelease is read and does not heal: not refused');
    assert.match(out, '--pause-gitops');
    // check judges them as upgrade does: the Application read as healing, the suspended HelmRelease not reported.
    const check = await pgupgrade(cp, ['check', '-n', w.ns, '--to', '15', '-o', 'json']);
    const managed =
      (JSON.parse(check.stdout) as { checks: Array<{ id: string; found: string }> }).checks.find(
        (c) => c.id === 'managed-by',
      )?.found ?? '';
    assert.match(managed, 'Application read: automated sync with selfHeal', check.stdout + check.stderr);
    assert.not.match(managed, 'HelmRelease db');
    // The dump method is refused the same way (it reads the objects too); --pause-gitops beside --gitops-paused is usage.
    const dump = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--method', 'dump', '-y']);
    assert.is(dump.code, 2, dump.stdout + dump.stderr);
    assert.match(dump.stdout + dump.stderr, `Argo CD Application shop (namespace ${w.ns}) manages StatefulSet ${STS}`);
    assert.match(dump.stdout + dump.stderr, 'or run again with --pause-gitops');
    const both = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--gitops-paused', '--pause-gitops', '-y']);
    assert.is(both.code, 2, both.stdout + both.stderr);
    assert.match(both.stderr, '--pause-gitops does not go with --gitops-paused');
    await assertPutBack(cp, w);
    assert.is(await replicas(cp, w.ns, `sts/${STS}`), '1');
    assert.is(await recordedState(cp, w.ns), undefined, 'no record: nothing started');
    assert.is(w.healer.healed.length, healedBefore, 'nothing was scaled down for the controller to heal');
  }));

test('--pause-gitops: both paused while it runs, upgraded to 15, both put back exactly, nothing lost', () =>
  inWorld('gitops-pause', async (cp, w) => {
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
    assert.match(
      out,
      'in Git       before the upgrade ends (they are resumed then, and apply Git again): GitOps manages StatefulSet/circleci-postgresql',
      'the confirmation names the change for Git',
    );
    assert.match(
      out,
      `Argo CD Application ${w.ns}/shop: the manifest or Helm values of its spec.source, container postgresql image`,
      'where in Git, per owner',
    );
    assert.not.match(
      out,
      `Flux Kustomization ${w.ns}/apps: the manifest`,
      "the application's own Kustomization has nothing to change in Git",
    );
    assert.equal(seen, { argo: true, flux: true }, 'both were seen paused while the upgrade ran');
    await assertPutBack(cp, w);
    assert.is(w.healer.healed.length, healedBefore, `nothing was healed while paused: ${w.healer.healed.join('; ')}`);
    await assertDataOn(cp, w, 15);
    // Resumed for real: the healer corrects drift again.
    await provesHealing(cp, w);
  }));

test('--pause-gitops, then --rollback: back on 13, and both objects put back exactly', () =>
  inWorld('gitops-rollback', async (cp, w) => {
    // Stopped with everything down and both still paused: the rollback must resume them.
    await stopPaused(cp, w);
    const back = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--rollback', '-y']);
    assert.is(back.code, 0, back.stdout + back.stderr);
    assert.match(
      back.stderr,
      `put back as they were at the end of this rollback: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`,
      'the confirmation says so',
    );
    await assertPutBack(cp, w);
    await assertDataOn(cp, w, 13);
  }));

test('a run stopped with both paused (--no-patch-workload): the resumed run, without the flag, puts them back at its end', () =>
  inWorld('gitops-resume', async (cp, w) => {
    const stderr = await stopPaused(cp, w);
    // The user's own change, as the advice prints it (standing in for the change in Git).
    const patch = /patch sts\/circleci-postgresql --type strategic -p '(\{.*?\})'/.exec(stderr)?.[1];
    assert.ok(patch, stderr);
    await cp.kubectl(['-n', w.ns, 'patch', `sts/${STS}`, '--type', 'strategic', '-p', patch]);
    const again = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '-y']);
    assert.is(again.code, 0, again.stdout + again.stderr);
    assert.match(
      again.stdout + again.stderr,
      `Resume the GitOps controllers as they were: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`,
    );
    await assertPutBack(cp, w);
    await assertDataOn(cp, w, 15);
  }));

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
