import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeKubeconfigs, resolveContext, toSingleContextDoc } from '../../../src/k8s/kubeconfig.ts';
import { usageMessage } from '../../support/usage-error.ts';

const first = {
  path: '/home/me/.kube/first',
  text: `
current-context: a
clusters:
- name: c1
  cluster: { server: https://one.example:6443, certificate-authority: ca.crt }
users:
- name: u1
  user: { client-certificate: certs/me.crt, client-key: /abs/me.key }
contexts:
- name: a
  context: { cluster: c1, user: u1, namespace: team-a }
- name: shared
  context: { cluster: c1, user: u1 }
`,
};
const second = {
  path: '/etc/kube/second',
  text: `
current-context: b
clusters:
- name: c1
  cluster: { server: https://shadowed.example }
- name: c2
  cluster: { server: https://two.example }
users:
- name: u2
  user:
    exec: { apiVersion: client.authentication.k8s.io/v1, command: ./bin/cred, args: [x] }
contexts:
- name: b
  context: { cluster: c2, user: u2 }
- name: shared
  context: { cluster: c2, user: u2 }
`,
};

test('the first file wins: current-context and every duplicate name', () => {
  const m = mergeKubeconfigs([first, second]);
  assert.is(m.currentContext, 'a');
  assert.equal(m.sources, ['/home/me/.kube/first', '/etc/kube/second']);
  assert.is(m.clusters.length, 2);
  assert.is((m.clusters[0]?.cluster as { server: string }).server, 'https://one.example:6443');
  const shared = resolveContext(m, { context: 'shared' });
  assert.is(shared.clusterName, 'c1');
});

test('a later file supplies the current-context when the first has none', () => {
  const noCurrent = { path: '/x/first', text: first.text.replace('current-context: a', '') };
  assert.is(mergeKubeconfigs([noCurrent, second]).currentContext, 'b');
});

test('relative paths resolve against their own file, absolute ones stay', () => {
  const r = resolveContext(mergeKubeconfigs([first, second]), {});
  assert.is(r.cluster['certificate-authority'], '/home/me/.kube/ca.crt');
  assert.is(r.user['client-certificate'], '/home/me/.kube/certs/me.crt');
  assert.is(r.user['client-key'], '/abs/me.key');
  const b = resolveContext(mergeKubeconfigs([first, second]), { context: 'b' });
  assert.is((b.user.exec as { command: string }).command, '/etc/kube/bin/cred');
});

test('namespace: the flag, else the context, else default', () => {
  const m = mergeKubeconfigs([first, second]);
  assert.is(resolveContext(m, {}).namespace, 'team-a');
  assert.is(resolveContext(m, { namespace: 'x' }).namespace, 'x');
  assert.is(resolveContext(m, { context: 'b' }).namespace, 'default');
});

test('an unknown context is a usage error that lists the known ones', () => {
  const msg = usageMessage(() => resolveContext(mergeKubeconfigs([first, second]), { context: 'nope' }));
  assert.match(msg, 'context "nope"');
  assert.match(msg, 'a, shared, b');
});

test('no current context and no flag: a usage error naming the choices', () => {
  const bare = { path: '/k', text: first.text.replace('current-context: a', '') };
  assert.match(
    usageMessage(() => resolveContext(mergeKubeconfigs([bare]), {})),
    'pass --context, one of: a, shared',
  );
});

test('a context whose cluster is missing is named', () => {
  const broken = { path: '/k', text: 'contexts: [{name: x, context: {cluster: gone, user: u}}]\ncurrent-context: x' };
  assert.match(
    usageMessage(() => resolveContext(mergeKubeconfigs([broken]), {})),
    'cluster "gone"',
  );
});

test('malformed files are usage errors naming the file', () => {
  assert.match(
    usageMessage(() => mergeKubeconfigs([{ path: '/bad', text: 'a: [' }])),
    '/bad is not valid YAML',
  );
  assert.match(
    usageMessage(() => mergeKubeconfigs([{ path: '/list', text: '- 1' }])),
    '/list is not a kubeconfig',
  );
  assert.match(
    usageMessage(() => mergeKubeconfigs([{ path: '/c', text: 'clusters: 3' }])),
    '"clusters" must be a list',
  );
});

test('the single-context document carries the resolved namespace', () => {
  const doc = toSingleContextDoc(resolveContext(mergeKubeconfigs([first]), { namespace: 'n1' }));
  assert.equal(doc.contexts, [{ name: 'a', context: { cluster: 'c1', user: 'u1', namespace: 'n1' } }]);
  assert.is(doc['current-context'], 'a');
});

test.run();
