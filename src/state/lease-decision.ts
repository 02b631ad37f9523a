import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A holder that stops renewing loses the lease this long after its last renewal. */
export const LEASE_SECONDS = 20;

/** The fields of a Lease's spec that decide who may hold it. */
export interface LeaseFields {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
}

/** Whether this run may take the lease, and why; or who holds it. */
export type LeaseDecision =
  | { take: true; why: string }
  | { take: false; holder: string; since: string; expiresInSeconds: number };

/** `host:pid:random`: the host and pid let a run on the same host see that the holder's process is gone. */
export function holderIdentity(host = hostname(), pid = process.pid): string {
  return `${host}:${pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * Who may take a lease: anyone when it is free or expired; on the holder's own host, also when the holder's
 * process no longer exists (a run killed with SIGKILL must not block the next one for long). Pure.
 */
export function leaseDecision(
  l: LeaseFields | undefined,
  now: Date,
  host: string,
  alive: (pid: number) => boolean,
): LeaseDecision {
  const holder = l?.holderIdentity ?? '';
  if (!holder) return { take: true, why: 'free' };
  const renewed = Date.parse(l?.renewTime ?? l?.acquireTime ?? '');
  const expiresAt = (Number.isNaN(renewed) ? 0 : renewed) + (l?.leaseDurationSeconds ?? LEASE_SECONDS) * 1000;
  if (expiresAt <= now.getTime()) return { take: true, why: `taken over from ${holder}, whose lease had expired` };
  const m = /^(.*):(\d+):[^:]*$/.exec(holder);
  if (m && m[1] === host && !alive(Number(m[2])))
    return { take: true, why: `taken over from ${holder}, whose process is gone` };
  return {
    take: false,
    holder,
    since: l?.acquireTime ?? 'an unknown time',
    expiresInSeconds: Math.ceil((expiresAt - now.getTime()) / 1000),
  };
}

/** Whether a process of this host exists (one of another user counts: it exists). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
