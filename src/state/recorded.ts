import type { Cluster, KObject } from '../k8s/cluster.ts';
import { usageError } from '../exit-codes.ts';
import { bindingProblemOf, type FoundWorkload } from './binding.ts';
import { dumpStateName, type DumpState } from './dump-state.ts';
import { parseDumpState } from './parse-dump-state.ts';
import { parseState } from './parse-state.ts';
import { upgradeNames, type UpgradeState } from './state.ts';
import { readRecordMap } from './store.ts';

/** The record of an upgrade in place, as read: its ConfigMap's name, the ConfigMap and the state in it. */
export interface InPlaceRecord {
  method: 'in-place';
  name: string;
  cm: KObject;
  state: UpgradeState;
}

/** The record of an upgrade by dump, as read. */
export interface DumpRecord {
  method: 'dump';
  name: string;
  cm: KObject;
  state: DumpState;
}

export type WorkloadRecord = InPlaceRecord | DumpRecord;

/**
 * What is recorded of a workload's upgrades: both records (each bound to the workload found), and the one its
 * upgrade stands on (`active`, by the precedence of activeRecord).
 */
export interface Recorded {
  /** The two records' ConfigMap names, whether or not they exist (messages name them). */
  names: { inPlace: string; dump: string };
  inPlace?: InPlaceRecord;
  dump?: DumpRecord;
  active?: WorkloadRecord;
}

/** Is the record's upgrade under way: in place, any phase before `done`; by dump, any before `done` or `rolled-back`. */
export function isUnfinished(r: WorkloadRecord): boolean {
  return r.method === 'dump' ? r.state.phase !== 'done' && r.state.phase !== 'rolled-back' : r.state.phase !== 'done';
}

/**
 * The record a workload's upgrade stands on, the one precedence of every command (upgrade, --rollback, validate,
 * cleanup):
 * 1. an unfinished record wins over a finished one: it is what a resumed run goes on with and what --rollback undoes,
 *    and it refuses the other method's new run;
 * 2. both unfinished (never made by the plugin: each method refuses to start while the other's record is unfinished,
 *    under the one Lease of the workload; only by hand or an older release): the dump record wins; --rollback undoes
 *    it first, and an upgrade in place refuses to resume until then;
 * 3. neither unfinished: the done dump record (validate judges its new instance, cleanup removes what it left), else
 *    the in-place record, else the rolled-back dump record (a rolled-back dump leaves the workload to what came
 *    after it; cleanup still removes its new instance).
 * Before it, a new upgrade answers from its own method's finished record: done with the same target, nothing to do;
 * by dump, a finished dump record refuses a new one until it is removed. Pure.
 */
export function activeRecord(inPlace?: InPlaceRecord, dump?: DumpRecord): WorkloadRecord | undefined {
  if (dump && isUnfinished(dump)) return dump;
  if (inPlace && isUnfinished(inPlace)) return inPlace;
  if (dump && dump.state.phase !== 'rolled-back') return dump;
  return inPlace ?? dump;
}

/**
 * Reads both records of the workload found (in place and by dump), each refused (exit 2) when its seal does not hold
 * (readRecordMap), when it is not one this release wrote, or when it belongs to another workload or data PVC (a
 * workload deleted and made again: bindingProblemOf); then the active one by activeRecord's precedence.
 */
export async function readRecorded(cluster: Cluster, d: FoundWorkload & { namespace: string }): Promise<Recorded> {
  const workload = d.workload.metadata.name;
  const names = { inPlace: upgradeNames(workload, 0).state, dump: dumpStateName(workload) };
  const inPlaceMap = await readRecordMap(cluster, d.namespace, names.inPlace);
  const dumpMap = await readRecordMap(cluster, d.namespace, names.dump);
  const inPlaceState = parseState(inPlaceMap);
  const dumpState = parseDumpState(dumpMap);
  const inPlace: InPlaceRecord | undefined = inPlaceMap &&
    inPlaceState && { method: 'in-place', name: names.inPlace, cm: inPlaceMap, state: inPlaceState };
  const dump: DumpRecord | undefined = dumpMap &&
    dumpState && { method: 'dump', name: names.dump, cm: dumpMap, state: dumpState };
  // A source without a volume (its data in its container's writable layer) records none: NO_VOLUME.
  for (const r of [inPlace, dump]) {
    const bound = r && bindingProblemOf(r.state, d, d.namespace, r.name);
    if (bound) throw usageError(bound);
  }
  return { names, inPlace, dump, active: activeRecord(inPlace, dump) };
}
