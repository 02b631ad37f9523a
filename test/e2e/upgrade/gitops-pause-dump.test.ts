import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runUntil } from '../../support/cli/run-until.ts';
import { sharedEnv } from '../../support/cluster.ts';
import { specOf } from '../../support/gitops-objects.ts';
import {
  assertDataOn,
  assertPutBack,
  inWorld,
  pgupgrade,
  provesHealing,
  replicas,
  STS,
  watchPaused,
} from '../../support/gitops-world.ts';
import { recordedState, releaseNamespaces } from '../../support/kube/helpers.ts';

// --pause-gitops with --method dump: the Argo CD Application of the database and the Flux Kustomization of its
// writing application are paused just before the applications stop, and put back exactly as they were when the
// upgrade is done, or by --rollback after a run killed with everything down. The test's healer undoes any drift
// while they heal (see test/support/gitops-healer.ts).
const test = suite('upgrade --method dump --pause-gitops with real Argo CD and Flux objects');
const TARGET = `${STS}-v15`;

test('--method dump --pause-gitops: both paused while it runs, dumped into 15, both put back exactly, the change for Git named, nothing lost', () =>
  inWorld('gitops-dump', async (cp, w) => {
    await provesHealing(cp, w);
    const healedBefore = w.healer.healed.length;
    const dry = await pgupgrade(cp, [
      'upgrade',
      '-n',
      w.ns,
      '--to',
      '15',
      '--method',
      'dump',
      '--pause-gitops',
      '--dry-run',
    ]);
    assert.is(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, `pause Application ${w.ns}/shop (recorded first)`);
    assert.match(dry.stdout, `resume Kustomization ${w.ns}/apps`);
    const watch = watchPaused(cp, w);
    const r = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--to', '15', '--method', 'dump', '--pause-gitops', '-y']);
    const seen = await watch.stop();
    const out = r.stdout + r.stderr;
    assert.is(r.code, 0, out);
    assert.match(
      out,
      `Argo CD Application ${w.ns}/shop: spec.syncPolicy.automated removed`,
      'the confirmation names the pause',
    );
    assert.match(out, `Pause the GitOps controllers: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`);
    assert.match(out, `Resumed as they were: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`);
    assert.match(out, `add the new instance to it (kubectl get statefulset/${TARGET} -o yaml`);
    assert.match(out, new RegExp(`point Service ([\\w-]+, )*${STS}(, [\\w-]+)* at the new instance's pods`), out);
    assert.match(out, `set StatefulSet/${STS}'s replicas to 0`);
    assert.match(
      out,
      'in Git       before the upgrade ends (they are resumed then, and apply Git again): GitOps manages StatefulSet/circleci-postgresql',
      'the confirmation names the change for Git',
    );
    assert.equal(seen, { argo: true, flux: true }, 'both were seen paused while the upgrade ran');
    await assertPutBack(cp, w);
    assert.is(w.healer.healed.length, healedBefore, `nothing was healed while paused: ${w.healer.healed.join('; ')}`);
    await assertDataOn(cp, w, 15, `${TARGET}-0`);
    // Resumed for real: the healer corrects drift again, and keeps the old instance stopped (as if Git had been changed).
    await provesHealing(cp, w);
    assert.is(await replicas(cp, w.ns, `sts/${STS}`), '0', 'the old instance stays stopped');
  }));

test('--method dump --pause-gitops: Ctrl-C just after the pause puts both back; killed later with the applications down, both stay paused; --rollback puts them back and the data on 13', () =>
  inWorld('gitops-dump-rb', async (cp, w) => {
    const stopped = await runUntil(
      cp,
      ['upgrade', '-n', w.ns, '--to', '15', '--method', 'dump', '--pause-gitops', '-y'],
      /✔ Pause the GitOps controllers: /,
      async (kill) => kill('SIGINT'),
    );
    assert.is(stopped.code, 130, stopped.out);
    await assertPutBack(cp, w);
    const rec = (await recordedState(cp, w.ns)) as { ownersResumedAt?: string } | undefined;
    assert.ok(
      rec?.ownersResumedAt,
      `the record says they were put back (the lock is released after): ${JSON.stringify(rec)}`,
    );
    // The recorded run resumes: it pauses them again (their values read anew: they were put back) before the applications stop.
    const killed = await runUntil(
      cp,
      ['upgrade', '-n', w.ns, '--to', '15', '--method', 'dump', '--pause-gitops', '-y'],
      /✔ Scale the applications down/,
      async (kill) => kill('SIGKILL'),
    );
    assert.match(killed.out, `Pause the GitOps controllers: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`);
    assert.is((await specOf(cp, w.kustPath)).suspend, true, 'the Kustomization is still suspended');
    assert.not.ok(
      ((await specOf(cp, w.appPath)) as { syncPolicy?: { automated?: unknown } }).syncPolicy?.automated,
      'the Application still paused',
    );
    const healedBefore = w.healer.healed.length;
    const back = await pgupgrade(cp, ['upgrade', '-n', w.ns, '--rollback', '-y']);
    assert.is(back.code, 0, back.stdout + back.stderr);
    assert.match(
      back.stdout + back.stderr,
      `Resume the GitOps controllers as they were: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`,
    );
    assert.match(
      back.stderr,
      `put back as they were at the end of this rollback: Application ${w.ns}/shop, Kustomization ${w.ns}/apps`,
      'the confirmation says so',
    );
    await assertPutBack(cp, w);
    assert.is(w.healer.healed.length, healedBefore, `nothing was healed while paused: ${w.healer.healed.join('; ')}`);
    await assertDataOn(cp, w, 13);
    await provesHealing(cp, w);
  }));

test.after(async () => releaseNamespaces((await sharedEnv()).cp));

test.run();
