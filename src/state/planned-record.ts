import type { Cluster } from '../k8s/cluster.ts';
import { leaseNameOf } from './lock.ts';
import { readRecordKey } from './record-key.ts';
import { RECORD_KEY_SECRET } from './seal.ts';

/**
 * For --dry-run, what every method's record brings with it: the namespace's record key (the Secret that seals the
 * records, made on first use, so listed only where it is missing) and the workload's Lease.
 */
export async function plannedRecordObjects(cluster: Cluster, ns: string, stateName: string): Promise<object[]> {
  const keyMissing = !(await readRecordKey(cluster, ns));
  const key = {
    step: 'the record key of the namespace, made on first use, which seals every record (its value never shown)',
    object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: RECORD_KEY_SECRET, namespace: ns } },
  };
  const lease = {
    step: 'the Lease that keeps a second run off this workload, renewed while this one runs',
    object: {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: leaseNameOf(stateName), namespace: ns },
    },
  };
  return keyMissing ? [key, lease] : [lease];
}
