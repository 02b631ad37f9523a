import { CliError, ExitCode } from '../exit-codes.ts';
import type { Cluster, KObject } from '../k8s/cluster.ts';

/**
 * Before a claim is deleted to be made again from a snapshot: its PersistentVolume is set to `Retain`, so that the
 * data it holds (the upgraded cluster, with every write since) outlives the claim instead of going with a
 * `Delete` policy. Returns the volume's name (undefined for a claim that was never bound). A volume the plugin
 * may not patch stops the rollback here, before anything is deleted, with the command to run.
 */
export async function retainVolumeOf(cluster: Cluster, claim: KObject): Promise<string | undefined> {
  const name = claim.spec?.volumeName as string | undefined;
  if (!name) return undefined;
  const ref = { apiVersion: 'v1', kind: 'PersistentVolume', name };
  const pv = await cluster.readObject(ref).catch((err: unknown) => refuse(name, claim, err));
  if (!pv || pv.spec?.persistentVolumeReclaimPolicy === 'Retain') return name;
  await cluster
    .patchObject(ref, { spec: { persistentVolumeReclaimPolicy: 'Retain' } }, 'merge')
    .catch((err: unknown) => refuse(name, claim, err));
  return name;
}

function refuse(pv: string, claim: KObject, err: unknown): never {
  throw new CliError(
    `cannot set PersistentVolume ${pv} (of PVC ${claim.metadata.namespace}/${claim.metadata.name}) to Retain before the claim is ` +
      `made again from the snapshot: ${(err as Error).message}. Nothing was deleted. Run kubectl patch pv ${pv} -p ` +
      `'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}', then the rollback again`,
    ExitCode.failed,
  );
}
