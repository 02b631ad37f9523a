import type { Cluster, KObject } from '../k8s/cluster.ts';
import { CliError, ExitCode, usageError } from '../exit-codes.ts';
import { readRecordKey, recordKey } from './record-key.ts';
import { SEAL_ANNOTATION, sealOf, sealProblem } from './seal.ts';
import { recordUnusable } from './binding.ts';
import { stateConfigMap, type UpgradeState } from './state.ts';

/**
 * A record's ConfigMap (in place or by dump), or undefined when there is none; one whose seal does not hold (changed
 * by hand, written by someone else) is refused, exit 2, before anything it names is acted on.
 */
export async function readRecordMap(cluster: Cluster, ns: string, name: string): Promise<KObject | undefined> {
  const cm = await cluster.readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });
  if (!cm) return undefined;
  const problem = sealProblem(cm, await readRecordKey(cluster, ns));
  if (problem) throw usageError(recordUnusable(ns, name, problem));
  return cm;
}

/**
 * Writes the state ConfigMap over the version last read or written (`version`; undefined: it must not exist yet),
 * and returns the new version. A 409 means that another writer changed it meanwhile: stop rather than overwrite.
 */
export async function saveState(
  cluster: Cluster,
  ns: string,
  name: string,
  s: UpgradeState,
  version: string | undefined,
): Promise<string | undefined> {
  return saveRecord(cluster, stateConfigMap(name, ns, s), s.phase, version);
}

/** Writes a record's ConfigMap (in place or by dump) over `version`; a 409 stops the run before recording `phase`. */
export async function saveRecord(
  cluster: Cluster,
  cm: KObject,
  phase: string,
  version: string | undefined,
): Promise<string | undefined> {
  const [ns, name] = [cm.metadata.namespace ?? '', cm.metadata.name];
  const seal = sealOf(await recordKey(cluster, ns), cm.data);
  const sealed = {
    ...cm,
    metadata: { ...cm.metadata, annotations: { ...cm.metadata.annotations, [SEAL_ANNOTATION]: seal } },
  };
  try {
    const out =
      version === undefined
        ? await cluster.createObject(sealed)
        : await cluster.patchObject(
            { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name },
            { metadata: { resourceVersion: version, annotations: { [SEAL_ANNOTATION]: seal } }, data: cm.data },
            'merge',
          );
    return out.metadata.resourceVersion;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
    throw new CliError(
      `ConfigMap ${ns}/${name}, the record of this upgrade, was changed by someone else while this run went on (another run of ` +
        `kubectl pgupgrade?); this run stops here, before recording "${phase}". Look: kubectl -n ${ns} get configmap ${name} -o yaml; ` +
        `then run the same command again, which goes on from the record as it is`,
      ExitCode.failed,
    );
  }
}
