import type { Cluster, KObject } from '../../k8s/cluster.ts';
import type { Discovery } from '../../discovery/discover.ts';
import type { Mode } from '../../server/reach.ts';
import type { ControlData } from '../../postgres/volume-facts.ts';
import type { Fingerprint } from '../../postgres/fingerprint.ts';
import type { SnapshotRecord } from '../../volume-snapshots/record.ts';

/** What `snapshot` was asked to do. */
export interface SnapshotOptions {
  workload?: string;
  /** Wait for readyToUse (default); without it, return once the snapshot is cut. */
  wait: boolean;
  verify: boolean;
  snapshotClass?: string;
  timeoutSeconds: number;
  superuserSecret?: { name: string; key: string }; // --superuser-secret
}

/** What the verification found. */
export interface VerifyResult {
  ok: boolean;
  /** What the restored copy was compared with. */
  against: 'fingerprints before and after the cut' | 'pg_controldata of the stopped cluster';
  differences: string[];
  /** Tables and sequences that applications wrote while the snapshot was cut, with what the copy holds. */
  writtenDuringCut: string[];
  totals: { databases: number; tables: number; rows: number };
  restoredPvc: string;
  pod: string;
}

/** What the tasks share. */
export interface SnapshotCtx {
  cluster: Cluster;
  d: Discovery;
  mode: Mode;
  password: string;
  version: string;
  major: number;
  className: string;
  before?: Fingerprint;
  /** The running database's fingerprint right after the cut: what changed since `before` was written meanwhile. */
  after?: Fingerprint;
  controlData?: ControlData;
  snap: KObject;
  record: SnapshotRecord;
  fingerprintConfigMap?: string;
  verify?: VerifyResult;
}

/** What a task body needs of its task: the title it shows, set as the task learns more. */
export interface TitledTask {
  title: string;
}
