import type { Cluster } from '../k8s/cluster.ts';
import type { Discovery } from '../discovery/discover.ts';
import { psqlEach, type Reach } from '../server/gather.ts';
import { FINGERPRINT_CLUSTER_SQL, FINGERPRINT_DB_SQL, fingerprintedDatabases, parseFingerprint, type Fingerprint } from '../postgres/fingerprint.ts';

/** The fingerprint through psql in the pod: two execs, whatever the number of databases and tables. */
export async function fingerprintVia(cluster: Cluster, d: Discovery, r: Reach, password: string, onHeld?: () => void): Promise<Fingerprint> {
  const clusterJson = (await psqlEach(cluster, d, r, password, ['postgres'], FINGERPRINT_CLUSTER_SQL)).get('postgres');
  if (!clusterJson) throw new Error(`no fingerprint from the server in ${d.namespace}/${r.pod}`);
  return parseFingerprint(clusterJson, await psqlEach(cluster, d, r, password, fingerprintedDatabases(clusterJson), FINGERPRINT_DB_SQL, onHeld));
}
