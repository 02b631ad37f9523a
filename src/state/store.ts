import type { Cluster } from '../k8s/cluster.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { stateConfigMap, type UpgradeState } from './state.ts';

/**
 * Writes the state ConfigMap over the version last read or written (`version`; undefined: it must not exist yet),
 * and returns the new version. A 409 means that another writer changed it meanwhile: stop rather than overwrite.
 */
export async function saveState(cluster: Cluster, ns: string, name: string, s: UpgradeState, version: string | undefined): Promise<string | undefined> {
  const cm = stateConfigMap(name, ns, s);
  try {
    const out = version === undefined ? await cluster.createObject(cm)
      : await cluster.patchObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name }, { metadata: { resourceVersion: version }, data: cm.data }, 'merge');
    return out.metadata.resourceVersion;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    throw new CliError(`ConfigMap ${ns}/${name}, the record of this upgrade, was changed by someone else while this run went on (another run of ` +
      `kubectl pgupgrade?); this run stops here, before recording "${s.phase}". Look: kubectl -n ${ns} get configmap ${name} -o yaml; ` +
      `then run the same command again, which goes on from the record as it is`, ExitCode.failed);
  }
}
