import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { managersOfAll, type ManagedObject } from '../../../src/postgres/gitops.ts';
import { gitopsRefusal } from '../../../src/postgres/gitops-refusal.ts';
import { dumpGitChange, gitChange, rollbackResumeNote } from '../../../src/postgres/gitops-git-change.ts';
import {
  healingOwners,
  isPausedOwner,
  ownerHeals,
  ownerRefOf,
  pausePatch,
  priorOf,
  resumePatch,
  withReadings,
  type OwnerRef,
} from '../../../src/postgres/gitops-pause.ts';
import { stateProblem } from '../../../src/state/parse-state.ts';

const sts: ManagedObject = {
  kind: 'StatefulSet',
  metadata: { name: 'pg', annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/StatefulSet:db/pg' } },
};
const app: ManagedObject = {
  kind: 'Deployment',
  metadata: {
    name: 'web',
    labels: {
      'kustomize.toolkit.fluxcd.io/name': 'apps',
      'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      'helm.toolkit.fluxcd.io/name': 'web',
    },
  },
};
const managers = managersOfAll([sts, app]);
const [argo, kust, helm] = healingOwners(managers, 'db') as [OwnerRef, OwnerRef, OwnerRef];

test("the objects behind the markers: Argo CD in argocd by default, Flux in its label's namespace or the workload's", () => {
  assert.equal(
    [argo, kust, helm],
    [
      { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', namespace: 'argocd', name: 'shop' },
      { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: 'flux-system', name: 'apps' },
      { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', namespace: 'db', name: 'web' },
    ],
  );
  assert.is(
    ownerRefOf(
      { tool: 'Helm', what: 'release x', name: 'x', heals: false, object: 'StatefulSet pg', evidence: '' },
      'db',
    ),
    undefined,
  );
  assert.is(healingOwners(managersOfAll([sts, sts]), 'db').length, 1, 'each object once');
});

test('which heal: Argo CD only with automated selfHeal (not enabled: false); Flux unless suspended', () => {
  assert.equal(ownerHeals('Application', { spec: { syncPolicy: { automated: { selfHeal: true } } } }).heals, true);
  assert.equal(
    ownerHeals('Application', { spec: { syncPolicy: { automated: { selfHeal: true, enabled: false } } } }).heals,
    false,
  );
  assert.equal(ownerHeals('Application', { spec: { syncPolicy: { automated: { prune: true } } } }), {
    heals: false,
    why: 'automated sync without selfHeal: it does not undo drift',
  });
  assert.equal(ownerHeals('Application', { spec: {} }), { heals: false, why: 'no automated sync' });
  assert.equal(ownerHeals('Kustomization', { spec: {} }).heals, true);
  assert.equal(ownerHeals('HelmRelease', { spec: { suspend: false } }).heals, true);
  assert.equal(ownerHeals('HelmRelease', { spec: { suspend: true } }), { heals: false, why: 'suspended' });
});

test('readings: a paused owner no longer refuses; a 403 or 404 is judged by its markers and says so', () => {
  const readings = [
    { ref: argo, heals: false, why: 'no automated sync' },
    { ref: kust, why: 'reading Kustomization flux-system/apps is forbidden (403)' },
    { ref: helm, heals: true, why: 'not suspended' },
  ];
  const m = withReadings(managers, readings, 'db');
  assert.equal(
    m.map((x) => [x.what, x.heals]),
    [
      ['Application shop', false],
      ['Kustomization apps', true],
      ['HelmRelease web', true],
    ],
  );
  assert.match(m[1]?.evidence ?? '', 'forbidden (403): judged by its markers');
  const refusal = gitopsRefusal(m, 'db', false) ?? '';
  assert.not.match(refusal, 'Application shop');
  assert.match(refusal, 'flux suspend kustomization apps -n flux-system');
  assert.match(refusal, '--pause-gitops');
});

test('pause and resume: the exact prior value comes back; an absent field is removed again', () => {
  const automated = { selfHeal: true, prune: false, allowEmpty: true };
  const pArgo = priorOf(argo, { spec: { syncPolicy: { automated } } });
  assert.equal(pausePatch(argo), { spec: { syncPolicy: { automated: null } } });
  assert.equal(resumePatch(pArgo), { spec: { syncPolicy: { automated } } });
  const pKust = priorOf(kust, { spec: {} });
  assert.is('prior' in pKust, false);
  assert.equal(pausePatch(kust), { spec: { suspend: true } });
  assert.equal(resumePatch(pKust), { spec: { suspend: null } }, 'suspend was absent: removed again, not set false');
  assert.equal(resumePatch(priorOf(helm, { spec: { suspend: false } })), { spec: { suspend: false } });
});

test("a record's pausedOwners are checked before anything is patched from them", () => {
  assert.ok(isPausedOwner({ ...argo, prior: { selfHeal: true } }));
  assert.ok(isPausedOwner({ ...kust }));
  assert.not.ok(isPausedOwner({ ...kust, prior: 'yes' }));
  assert.not.ok(isPausedOwner({ ...argo, kind: 'Secret' }));
  assert.not.ok(isPausedOwner({ ...argo, apiVersion: 'v1' }));
  assert.not.ok(isPausedOwner({ ...argo, name: '' }));
  assert.match(
    stateProblem({
      version: 1,
      phase: 'gitops-paused',
      workload: { kind: 'StatefulSet', name: 'pg', replicas: 1 },
      workloadUid: 'u',
      pvc: 'p',
      container: 'c',
      fromVersion: '13',
      oldImage: 'a',
      targetImage: 'b',
      jobImage: 'j',
      fingerprintConfigMap: 'f',
      job: 'j',
      from: 13,
      to: 15,
      method: 'link',
      apps: [],
      snapshot: null,
      jobSpec: { name: 'j', pgdata: '/d', claim: 'p', from: 13, to: 15 },
      history: [],
      pausedOwners: [{ kind: 'Secret' }],
    }) ?? '',
    'pausedOwners',
  );
});

test('the change to make in Git names the objects and the image', () => {
  const c = { container: 'postgresql' };
  assert.is(gitChange([], 'StatefulSet/pg', 'postgres:15', c), undefined);
  const text = gitChange([argo, kust, helm], 'StatefulSet/pg', 'bitnami/postgresql:15.8.0', c) ?? '';
  assert.match(text, 'set its image to bitnami/postgresql:15.8.0 in the Git source of Application argocd/shop');
  assert.match(
    text,
    'Argo CD Application argocd/shop: the manifest or Helm values of its spec.source, container postgresql image bitnami/postgresql:15.8.0',
  );
  assert.match(text, 'a kustomize images: entry newName bitnami/postgresql, newTag "15.8.0"');
  assert.match(
    text,
    'its spec.values (or the values file it names), image.registry: docker.io, image.repository: bitnami/postgresql, image.tag: "15.8.0"',
  );
  // Another registry, or a digest: kept, not a Docker Hub pull or the chart's default.
  const ghcr = gitChange([helm, kust], 'StatefulSet/pg', 'ghcr.io/org/pg@sha256:abc', c) ?? '';
  assert.match(ghcr, 'image.registry: ghcr.io, image.repository: org/pg, image.digest: "sha256:abc"');
  assert.match(ghcr, 'newName ghcr.io/org/pg, digest "sha256:abc"');
  assert.not.match(text, 'PGDATA');
  // The 18 layout: the claim's new mount and PGDATA belong in the same change, or the next sync mounts the old place.
  const relayout = {
    fromMount: '/var/lib/postgresql/data',
    toMount: '/var/lib/postgresql',
    pgdata: '/var/lib/postgresql/18/docker',
  };
  assert.match(
    gitChange([argo], 'StatefulSet/pg', 'postgres:18', { ...c, relayout }) ?? '',
    'mount the claim at /var/lib/postgresql (it was /var/lib/postgresql/data), PGDATA=/var/lib/postgresql/18/docker',
  );
});

test('after a dump, the change to make in Git: the new instance in, the Services to it, the old one stopped', () => {
  const change = {
    source: 'StatefulSet/pg',
    sourceStopped: true,
    target: 'statefulset/pg-v15',
    services: ['pg', 'pg-ro'],
  };
  assert.is(dumpGitChange([], change), undefined);
  const text = dumpGitChange([argo, kust], change) ?? '';
  assert.match(text, 'in the Git source of Application argocd/shop, Kustomization');
  assert.match(text, 'add the new instance to it (kubectl get statefulset/pg-v15 -o yaml gives its manifest)');
  assert.match(text, "point Service pg, pg-ro at the new instance's pods");
  assert.match(text, "set StatefulSet/pg's replicas to 0");
  assert.not.match(
    dumpGitChange([argo], { ...change, sourceStopped: false, services: [] }) ?? '',
    /replicas to 0|point Service/,
    'a source left running, no Service',
  );
});

test('a rollback that resumes what the upgrade paused says so, and that a change made in Git for the upgrade must go first', () => {
  assert.is(rollbackResumeNote(undefined, undefined), undefined);
  assert.is(rollbackResumeNote([argo], '2026-12-07T00:00:00Z'), undefined, 'resumed already: nothing to say');
  const note = rollbackResumeNote([argo, kust], undefined) ?? '';
  assert.match(
    note,
    'put back as they were at the end of this rollback: Application argocd/shop, Kustomization flux-system/apps',
  );
  assert.match(note, 'if you changed it for this upgrade');
});

test.run();
