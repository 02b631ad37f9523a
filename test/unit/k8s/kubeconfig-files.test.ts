import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { locateKubeconfigFiles, IN_CLUSTER_TOKEN, type ConfigFs } from '../../../src/k8s/kubeconfig-files.ts';
import { usageMessage } from '../../support/usage-error.ts';

function memFs(files: Record<string, string>, home = '/home/me'): ConfigFs {
  return { exists: (f) => f in files, read: (f) => files[f] ?? '', home: () => home };
}

test('--kubeconfig wins over KUBECONFIG and must exist', () => {
  const fs = memFs({ '/f': 'a', '/g': 'b' });
  assert.equal(locateKubeconfigFiles('/f', { KUBECONFIG: '/g' }, fs), [{ path: '/f', text: 'a' }]);
  assert.match(
    usageMessage(() => locateKubeconfigFiles('/nope', {}, fs)),
    '/nope (from --kubeconfig) does not exist',
  );
});

test('KUBECONFIG is a colon list: existing files in order, duplicates once', () => {
  const fs = memFs({ '/a': '1', '/b': '2' });
  const got = locateKubeconfigFiles(undefined, { KUBECONFIG: '/a::/missing:/b:/a' }, fs);
  assert.equal(
    got.map((f) => f.path),
    ['/a', '/b'],
  );
});

test('KUBECONFIG naming only missing files is an error that names them', () => {
  const fs = memFs({});
  assert.match(
    usageMessage(() => locateKubeconfigFiles(undefined, { KUBECONFIG: '/x' }, fs)),
    'file /x does not exist',
  );
  assert.match(
    usageMessage(() => locateKubeconfigFiles(undefined, { KUBECONFIG: '/x:/y' }, fs)),
    '/x, /y do not exist',
  );
});

test('falls back to ~/.kube/config, never to localhost:8080', () => {
  assert.equal(
    locateKubeconfigFiles(undefined, {}, memFs({ '/home/me/.kube/config': 'c' }))[0]?.path,
    '/home/me/.kube/config',
  );
  const msg = usageMessage(() => locateKubeconfigFiles(undefined, {}, memFs({})));
  assert.match(msg, 'no kubeconfig found');
  assert.match(msg, '/home/me/.kube/config');
  assert.not.match(msg, '8080');
});

test('inside a pod with a service-account token, no file is needed', () => {
  const fs = memFs({ [IN_CLUSTER_TOKEN]: 't' });
  assert.equal(locateKubeconfigFiles(undefined, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, fs), []);
});

test.run();
