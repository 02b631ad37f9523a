import { hostname } from 'node:os';
import type { Cluster, KObject, ObjectRef } from '../k8s/cluster.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { OWNED_LABELS } from '../manifests/probe-pod.ts';
import { isInterrupted, onInterrupt, othersSettled } from '../interrupt.ts';
import { holderIdentity, LEASE_SECONDS, leaseDecision, type LeaseFields, pidAlive } from './lease-decision.ts';

const RENEW_MS = 5_000;

/** The lock a run holds while it changes anything for an upgrade or a rollback. */
export interface UpgradeLock {
  readonly name: string;
  /** Set when the lease was taken over from another holder: why. */
  readonly takenOver?: string;
  /** Throws when another run has taken the lease from this one: it must change nothing more. */
  assertHeld(): void;
  /** Ctrl-C: stops renewing but still holds it (it expires LEASE_SECONDS after the last renewal if never released). */
  stopRenewing(): void;
  /** Stops renewing and deletes the lease if this run still holds it; never throws. */
  release(): Promise<void>;
}

// The apiserver's MicroTime: RFC 3339 with six fractional digits.
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const codeOf = (err: unknown) => (err as { code?: number }).code;

/**
 * The Lease of a workload's upgrades, whatever the method: the in-place record `pgupgrade-state-<w>` and the dump
 * record `pgupgrade-dump-<w>` share `pgupgrade-lock-<w>`, so that two runs with different methods never both
 * proceed on one workload.
 */
export function leaseNameOf(stateName: string): string {
  return stateName.replace(/^pgupgrade-(?:state|dump)-/, 'pgupgrade-lock-');
}

/**
 * Takes the workload's Lease (leaseNameOf) beside the record, or refuses (exit 1) naming its holder and since when; then
 * renews it every few seconds until released.
 */
export async function takeLock(
  cluster: Cluster,
  ns: string,
  stateName: string,
  workload: string,
): Promise<UpgradeLock> {
  const ref: ObjectRef = {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: ns,
    name: leaseNameOf(stateName),
  };
  const id = holderIdentity();
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await cluster.readObject(ref);
    const d = leaseDecision(current?.spec as LeaseFields | undefined, new Date(), hostname(), pidAlive);
    if (!d.take) {
      throw new CliError(
        `another run of kubectl pgupgrade holds the lock of this upgrade, Lease ${ns}/${ref.name}: ${d.holder}, since ${d.since}. ` +
          `Nothing was changed. Wait for it to end; if that run is gone, its lock expires ${d.expiresInSeconds} s from now (${LEASE_SECONDS} s after its last ` +
          `renewal), then run the command again`,
        ExitCode.failed,
      );
    }
    const now = microTime(new Date());
    const spec = { holderIdentity: id, leaseDurationSeconds: LEASE_SECONDS, acquireTime: now, renewTime: now };
    try {
      const out = current
        ? await cluster.patchObject(
            ref,
            { metadata: { resourceVersion: current.metadata.resourceVersion }, spec },
            'merge',
          )
        : await cluster.createObject({
            apiVersion: ref.apiVersion,
            kind: ref.kind,
            metadata: {
              name: ref.name,
              namespace: ns,
              labels: { ...OWNED_LABELS, 'pgupgrade.kubectl.io/role': 'upgrade-lock' },
              annotations: { 'pgupgrade.kubectl.io/workload': workload },
            },
            spec,
          });
      return renewing(cluster, ref, id, out, d.why === 'free' ? undefined : d.why);
    } catch (err) {
      // Another run created or took it between the read and the write: read again, and refuse with its name.
      if (codeOf(err) !== 409) throw err;
    }
  }
  throw new CliError(
    `the lock of this upgrade, Lease ${ns}/${ref.name}, keeps changing hands; nothing was changed: run the command again`,
    ExitCode.failed,
  );
}

function renewing(
  cluster: Cluster,
  ref: ObjectRef,
  id: string,
  lease: KObject,
  takenOver: string | undefined,
): UpgradeLock {
  let version = lease.metadata.resourceVersion;
  let lost: string | undefined;
  let busy = false;
  const renew = async () => {
    if (busy || lost) return;
    busy = true;
    try {
      const out = await cluster.patchObject(
        ref,
        { metadata: { resourceVersion: version }, spec: { renewTime: microTime(new Date()) } },
        'merge',
      );
      version = out.metadata.resourceVersion;
    } catch (err) {
      if (codeOf(err) === 404) lost = 'the Lease was deleted';
      if (codeOf(err) === 409) {
        const now = await cluster.readObject(ref).catch(() => undefined);
        if (now && now.spec?.holderIdentity === id) version = now.metadata.resourceVersion;
        else lost = `it is held by ${String(now?.spec?.holderIdentity ?? 'nobody')} now`;
      }
      // Anything else (an apiserver briefly away) is retried at the next tick.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void renew(), RENEW_MS);
  timer.unref();
  return {
    name: ref.name,
    takenOver,
    assertHeld: () => {
      if (!lost) return;
      throw new CliError(
        `this run lost the lock of the upgrade, Lease ${ref.namespace}/${ref.name}: ${lost}. It stops here and changes nothing more; ` +
          `another run may be going on: kubectl -n ${ref.namespace} get lease ${ref.name} -o yaml`,
        ExitCode.failed,
      );
    },
    stopRenewing: () => clearInterval(timer),
    release: async () => {
      clearInterval(timer);
      lost ??= 'released';
      try {
        const now = await cluster.readObject(ref);
        if (now?.spec?.holderIdentity === id) await cluster.deleteObject(ref);
      } catch {
        // It expires by itself within LEASE_SECONDS.
      }
    },
  };
}

/**
 * Takes the lock, then makes sure that the record is still the one this run planned from (`seenVersion`, the
 * ConfigMap's resourceVersion then; undefined: there was none): a run that finished or moved on meanwhile would
 * make the plan stale.
 */
export async function lockRecord(
  cluster: Cluster,
  ns: string,
  stateName: string,
  workload: string,
  seenVersion: string | undefined,
): Promise<UpgradeLock> {
  const lock = await takeLock(cluster, ns, stateName, workload);
  const cm = await cluster
    .readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: stateName })
    .catch(async (err: unknown) => {
      await lock.release();
      throw err;
    });
  if (cm?.metadata.resourceVersion === seenVersion) return lock;
  await lock.release();
  throw new CliError(
    `ConfigMap ${ns}/${stateName}, the record of the upgrade, changed while this run was planning (another run of kubectl pgupgrade?). ` +
      `Nothing was changed: run the command again, and it goes on from the record as it is now`,
    ExitCode.failed,
  );
}

/**
 * Runs `fn` holding the lock, released at the end, on failure and on Ctrl-C alike; a lease taken over is said. Ctrl-C
 * stops the renewal at once; the release waits for the other clean-ups (the GitOps resume records itself under the
 * lock), and the exit for the release, whether `fn` ends or not.
 */
export async function holdingLock<T>(lock: UpgradeLock, say: (text: string) => void, fn: () => Promise<T>): Promise<T> {
  if (lock.takenOver) say(`Took the lock, Lease ${lock.name}: ${lock.takenOver}.`);
  let released: Promise<void> | undefined;
  const release = () => (released ??= lock.release());
  const unregister = [onInterrupt(async () => lock.stopRenewing()), onInterrupt(release, { last: true })];
  try {
    return await fn();
  } finally {
    if (isInterrupted()) await othersSettled();
    await release();
    for (const off of unregister) off();
  }
}
