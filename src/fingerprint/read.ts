import type { Cluster } from '../k8s/cluster.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import { psqlEach } from '../server/psql.ts';
import type { Reach } from '../server/reach.ts';
import {
  FINGERPRINT_CLUSTER_SQL,
  FINGERPRINT_DB_SQL,
  fingerprintedDatabases,
  parseFingerprint,
  type Fingerprint,
} from '../postgres/fingerprint.ts';
import { RECORD_KEY_FIELD, RECORD_KEY_SECRET } from '../manifests/record-key.ts';
import { keyChecksums } from './keyed.ts';
import { parseShape, SHAPE_CLUSTER_SQL, SHAPE_DB_SQL, type Shape } from '../postgres/shape.ts';

/**
 * The fingerprint through psql in the pod: two execs, whatever the number of databases and tables. Its checksums
 * are keyed by the namespace's secret key when it has one (src/fingerprint/keyed.ts), as every fingerprint kept in
 * a ConfigMap is: a run makes the key (with its record) before its first fingerprint.
 */
export async function fingerprintVia(
  cluster: Cluster,
  d: SourceDiscovery,
  r: Reach,
  password: string,
  onHeld?: () => void,
): Promise<Fingerprint> {
  const clusterJson = (await psqlEach(cluster, d, r, password, ['postgres'], FINGERPRINT_CLUSTER_SQL)).get('postgres');
  if (!clusterJson) throw new Error(`no fingerprint from the server in ${d.namespace}/${r.pod}`);
  const fp = parseFingerprint(
    clusterJson,
    await psqlEach(cluster, d, r, password, fingerprintedDatabases(clusterJson), FINGERPRINT_DB_SQL, onHeld),
  );
  const key = await cluster.readSecretKey(d.namespace, RECORD_KEY_SECRET, RECORD_KEY_FIELD);
  return key ? keyChecksums(fp, key) : fp;
}

/** The shape (src/postgres/shape.ts) through psql in the pod: two execs, O(relations). */
export async function shapeVia(cluster: Cluster, d: SourceDiscovery, r: Reach, password: string): Promise<Shape> {
  const clusterJson = (await psqlEach(cluster, d, r, password, ['postgres'], SHAPE_CLUSTER_SQL)).get('postgres');
  if (!clusterJson) throw new Error(`no shape from the server in ${d.namespace}/${r.pod}`);
  return parseShape(
    clusterJson,
    await psqlEach(cluster, d, r, password, fingerprintedDatabases(clusterJson), SHAPE_DB_SQL),
  );
}
