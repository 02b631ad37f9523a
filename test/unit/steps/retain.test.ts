import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../../src/exit-codes.ts';
import type { Cluster, KObject, ObjectRef } from '../../../src/k8s/cluster.ts';
import { retainVolumeOf } from '../../../src/steps/retain.ts';

/** A narrow double of the two object calls the step makes, holding PersistentVolumes by name. */
function volumes(pvs: Record<string, string>, forbid = false): Cluster & { pvs: Record<string, string> } {
  return {
    pvs,
    readObject: async (r: ObjectRef) =>
      pvs[r.name]
        ? {
            apiVersion: 'v1',
            kind: 'PersistentVolume',
            metadata: { name: r.name },
            spec: { persistentVolumeReclaimPolicy: pvs[r.name] },
          }
        : undefined,
    patchObject: async (r: ObjectRef, patch: { spec: { persistentVolumeReclaimPolicy: string } }) => {
      if (forbid) throw new Error('persistentvolumes "pv-1" is forbidden');
      pvs[r.name] = patch.spec.persistentVolumeReclaimPolicy;
      return {} as KObject;
    },
  } as unknown as Cluster & { pvs: Record<string, string> };
}

const claim = (volumeName?: string): KObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name: 'data', namespace: 'ns' },
  spec: volumeName ? { volumeName } : {},
});

test('a Delete volume is set to Retain before its claim goes; a Retain one is left; an unbound claim has none', async () => {
  const c = volumes({ 'pv-1': 'Delete', 'pv-2': 'Retain' });
  assert.is(await retainVolumeOf(c, claim('pv-1')), 'pv-1');
  assert.is(c.pvs['pv-1'], 'Retain');
  assert.is(await retainVolumeOf(c, claim('pv-2')), 'pv-2');
  assert.is(await retainVolumeOf(c, claim()), undefined);
});

test('a volume the plugin may not patch stops the rollback with the command, before anything is deleted', async () => {
  const err = await retainVolumeOf(volumes({ 'pv-1': 'Delete' }, true), claim('pv-1')).catch((e: CliError) => e);
  assert.instance(err, CliError);
  assert.match(
    (err as CliError).message,
    'Nothing was deleted. Run kubectl patch pv pv-1 -p \'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}\'',
  );
});

test.run();
