import type { Cluster } from '../k8s/cluster.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import { psqlEach, type Reach } from '../server/gather.ts';
import { FINGERPRINT_CLUSTER_SQL, FINGERPRINT_DB_SQL, fingerprintedDatabases, parseFingerprint, type Fingerprint } from '../postgres/fingerprint.ts';
import { parseShape, SHAPE_CLUSTER_SQL, SHAPE_DB_SQL, type Shape } from '../postgres/shape.ts';

/** The fingerprint through psql in the pod: two execs, whatever the number of databases and tables. */
export async function fingerprintVia(cluster: Cluster, d: SourceDiscovery, r: Reach, password: string, onHeld?: () => void): Promise<Fingerprint> {
  const clusterJson = (await psqlEach(cluster, d, r, password, ['postgres'], FINGERPRINT_CLUSTER_SQL)).get('postgres');
  if (!clusterJson) throw new Error(`no fingerprint from the server in ${d.namespace}/${r.pod}`);
  return parseFingerprint(clusterJson, await psqlEach(cluster, d, r, password, fingerprintedDatabases(clusterJson), FINGERPRINT_DB_SQL, onHeld));
}

/** The shape (src/postgres/shape.ts) through psql in the pod: two execs, O(relations). */
export async function shapeVia(cluster: Cluster, d: SourceDiscovery, r: Reach, password: string): Promise<Shape> {
  const clusterJson = (await psqlEach(cluster, d, r, password, ['postgres'], SHAPE_CLUSTER_SQL)).get('postgres');
  if (!clusterJson) throw new Error(`no shape from the server in ${d.namespace}/${r.pod}`);
  return parseShape(clusterJson, await psqlEach(cluster, d, r, password, fingerprintedDatabases(clusterJson), SHAPE_DB_SQL));
}
