import * as path from 'node:path';
import { usageError } from '../exit-codes.ts';
import type { KubeconfigFile } from './kubeconfig.ts';

/** The little of the file system that locating kubeconfig files needs; tests hand in a map. */
export interface ConfigFs {
  exists(file: string): boolean;
  read(file: string): string;
  home(): string | undefined;
}

/** The service-account mount that a pod gets; kubectl uses it when there is no kubeconfig at all. */
export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Finds the kubeconfig files in kubectl's order: --kubeconfig, else every existing file of the KUBECONFIG list,
 * else ~/.kube/config. A named file that is missing, or no config at all, is a usage error naming what was tried.
 * Returns an empty list only inside a pod with a service-account token (the caller builds an in-cluster config).
 */
export function locateKubeconfigFiles(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  fs: ConfigFs,
): KubeconfigFile[] {
  if (flag !== undefined && flag !== '') {
    if (!fs.exists(flag)) throw usageError(`kubeconfig file ${flag} (from --kubeconfig) does not exist`);
    return [{ path: flag, text: fs.read(flag) }];
  }
  const list = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
  if (list.length > 0) {
    const existing = [...new Set(list)].filter((f) => fs.exists(f));
    if (existing.length === 0) {
      const what = list.length === 1 ? `file ${list[0]} does not exist` : `files ${list.join(', ')} do not exist`;
      throw usageError(`KUBECONFIG names ${what}; point KUBECONFIG or --kubeconfig at a kubeconfig file`);
    }
    return existing.map((f) => ({ path: f, text: fs.read(f) }));
  }
  const home = fs.home();
  const dflt = home ? path.join(home, '.kube', 'config') : undefined;
  if (dflt && fs.exists(dflt)) return [{ path: dflt, text: fs.read(dflt) }];
  if (env.KUBERNETES_SERVICE_HOST && fs.exists(IN_CLUSTER_TOKEN)) return [];
  throw usageError(
    `no kubeconfig found: KUBECONFIG is not set and ${dflt ?? '~/.kube/config'} does not exist; ` +
      'pass --kubeconfig, set KUBECONFIG, or run `kubectl config view` to see what kubectl uses',
  );
}
