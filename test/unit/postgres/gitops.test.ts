import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gitopsRefusal, managerNotes, pauseCommand } from '../../../src/postgres/gitops-refusal.ts';
import {
  managersOfAll,
  managersOfObject,
  replicaOrImageManagers,
  type ManagedMeta,
  type ManagedObject,
} from '../../../src/postgres/gitops.ts';

const sts = (metadata: Partial<ManagedMeta>): ManagedObject => ({
  kind: 'StatefulSet',
  metadata: { name: 'pg', ...metadata },
});
const deploy = (name: string, metadata: Partial<ManagedMeta>): ManagedObject => ({
  kind: 'Deployment',
  metadata: { name, ...metadata },
});
const replicasBy = (manager: string, subresource?: string) => ({
  manager,
  operation: 'Update',
  ...(subresource ? { subresource } : {}),
  fieldsV1: { 'f:spec': { 'f:replicas': {} } },
});
const imageBy = (manager: string) => ({
  manager,
  operation: 'Apply',
  fieldsV1: {
    'f:spec': {
      'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"postgres"}': { '.': {}, 'f:image': {} } } } },
    },
  },
});

test('no markers and only kubectl: nobody manages it, nothing refused', () => {
  const o = sts({
    managedFields: [replicasBy('kubectl-client-side-apply'), imageBy('kubectl'), replicasBy('kube-controller-manager')],
  });
  assert.equal(managersOfObject(o), []);
  assert.is(gitopsRefusal(managersOfAll([o]), 'db', false), undefined);
});

test('Helm by its label or annotation: named, does not heal, only noted', () => {
  const m = managersOfObject(
    sts({
      labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'meta.helm.sh/release-name': 'circle', 'meta.helm.sh/release-namespace': 'db' },
    }),
  );
  assert.equal(
    m.map((x) => [x.tool, x.name, x.namespace, x.heals]),
    [['Helm', 'circle', 'db', false]],
  );
  assert.is(gitopsRefusal(m, 'db', false), undefined);
  assert.match(managerNotes(m, 'db')[0] ?? '', 'Helm release circle (namespace db) manages StatefulSet pg');
});

test('Argo CD by its tracking id (with the app namespace prefix): heals, refused with both pause commands', () => {
  const o = sts({ annotations: { 'argocd.argoproj.io/tracking-id': 'apps_circle:apps/StatefulSet:db/pg' } });
  const m = managersOfObject(o);
  assert.equal(
    m.map((x) => [x.tool, x.name, x.namespace, x.heals]),
    [['Argo CD', 'circle', 'apps', true]],
  );
  const msg = gitopsRefusal(m, 'db', false) ?? '';
  assert.match(
    msg,
    'Argo CD Application circle (namespace apps) manages StatefulSet pg (annotation argocd.argoproj.io/tracking-id)',
  );
  assert.match(
    msg,
    `kubectl patch application circle -n apps --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}'`,
  );
  assert.match(msg, 'argocd app set apps/circle --sync-policy none');
  assert.match(msg, '--gitops-paused');
  assert.match(msg, 'nothing was changed');
  assert.is(gitopsRefusal(m, 'db', true), undefined, '--gitops-paused: the user says it is paused');
});

test("Argo CD by the instance label only with its field manager; the label alone is anyone's (Helm sets it too)", () => {
  const labels = { 'app.kubernetes.io/instance': 'shop' };
  assert.equal(managersOfObject(sts({ labels })), []);
  const m = managersOfObject(sts({ labels, managedFields: [replicasBy('argocd-controller')] }));
  assert.equal(
    m.map((x) => [x.tool, x.name, x.evidence]),
    [['Argo CD', 'shop', 'label app.kubernetes.io/instance with field manager argocd-controller']],
  );
  assert.match(pauseCommand(m[0]!, 'db') ?? '', 'kubectl patch application shop -n argocd');
});

test('Flux Kustomization and HelmRelease by their labels: the suspend command with their namespace', () => {
  const k = managersOfObject(
    deploy('web', {
      labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' },
    }),
  );
  assert.equal(
    k.map((x) => [x.tool, x.what, x.object, x.heals]),
    [['Flux', 'Kustomization apps', 'Deployment web', true]],
  );
  assert.is(pauseCommand(k[0]!, 'db'), 'flux suspend kustomization apps -n flux-system');
  const h = managersOfObject(sts({ labels: { 'helm.toolkit.fluxcd.io/name': 'pg' } }));
  assert.is(pauseCommand(h[0]!, 'db'), 'flux suspend helmrelease pg -n db', "no namespace label: the workload's");
});

test("an application's manager counts as much as the database's", () => {
  const msg =
    gitopsRefusal(
      managersOfAll([sts({}), deploy('web', { labels: { 'helm.toolkit.fluxcd.io/name': 'web' } })]),
      'db',
      false,
    ) ?? '';
  assert.match(msg, 'Flux HelmRelease web manages Deployment web');
});

test("other field managers of replicas or image: named with their evidence, noted, not refused; Argo CD's or Flux's manager heals", () => {
  assert.equal(
    replicaOrImageManagers({
      name: 'pg',
      managedFields: [replicasBy('my-operator'), imageBy('deployer'), { manager: 'x', fieldsV1: { 'f:metadata': {} } }],
    }),
    ['my-operator', 'deployer'],
  );
  const m = managersOfObject(
    sts({ managedFields: [replicasBy('hpa-thing', 'scale'), replicasBy('kustomize-controller')] }),
  );
  assert.equal(
    m.map((x) => [x.name, x.heals]),
    [
      ['hpa-thing', false],
      ['kustomize-controller', true],
    ],
  );
  assert.match(
    managerNotes(m, 'db')[0] ?? '',
    'field manager hpa-thing manages StatefulSet pg (managedFields of spec.replicas or the image)',
  );
  assert.match(gitopsRefusal(m, 'db', false) ?? '', 'field manager kustomize-controller');
  const marked = managersOfObject(
    sts({
      labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' },
      managedFields: [replicasBy('kustomize-controller')],
    }),
  );
  assert.is(marked.length, 1, 'the controller named by its markers is not listed twice');
});

test.run();
