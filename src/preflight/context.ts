import type { Cluster } from '../k8s/cluster.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';
import type { Mode } from '../server/reach.ts';
import type { Evidence } from './finding.ts';
import type { Probe } from '../probe/probe.ts';
import { usageError } from '../exit-codes.ts';
import { upgradePathProblem, type Method } from '../postgres/versions.ts';
import type { ControlData } from '../postgres/volume-facts.ts';

/** What check's tasks share: the evidence as its tasks gather it, and how they reach the server. */
export interface CheckCtx
  extends Pick<
    Evidence,
    | 'access'
    | 'snapshotDrivers'
    | 'server'
    | 'databases'
    | 'credentialsError'
    | 'remoteLoginError'
    | 'ownerReadings'
    | 'volume'
  > {
  cluster: Cluster;
  /** Without a PVC only for --method dump (discover's `volume: 'optional'`); the in-place contexts narrow it to Discovery. */
  d: SourceDiscovery;
  mode: Mode;
  password: string;
  probe?: Probe;
  /** The data's major when the pod told it by refusing the data (a crash-looping bumped image). */
  dataMajor?: number;
  controlData?: ControlData;
  serverError?: string;
  pgUpgradeCheck?: { ok: boolean; output: string; image: string };
}

/** The options that shape check. */
export interface CheckOptions {
  workload?: string;
  to: number;
  method: Method;
  appSelector: Record<string, string>;
  image?: string;
  /** The image the workload will run after the upgrade (upgrade's --image). */
  workloadImage?: string;
  /** --superuser-secret: where the superuser's password is, when the pod spec does not say. */
  superuserSecret?: { name: string; key: string };
  initdb?: { encoding?: string; lcCollate?: string; lcCtype?: string };
}

/** Guards, named as the house style asks. */
export const isLive = (ctx: CheckCtx): boolean => ctx.mode === 'live';
export const isOffline = (ctx: CheckCtx): boolean => ctx.mode === 'offline';

/** `--to` must be above the running major: bad input (exit 2), found as soon as the major is known. */
export function verifyTarget(ctx: CheckCtx, from: number, opts: CheckOptions, version: string): void {
  const problem = upgradePathProblem(from, opts.to, opts.method);
  if (problem && opts.to <= from)
    throw usageError(
      `${ctx.d.workload.kind} ${ctx.d.namespace}/${ctx.d.workload.metadata.name} runs PostgreSQL ${version}: ${problem}`,
    );
}
