import type { Finding } from './rules.ts';

/**
 * A source of `--method dump` whose data is not on a volume, and whose superuser password is written in its
 * manifest: what the dump method does about each, and what it tells the user. Pure.
 */

/** What the dump record keeps as the source's PVC when it has none: the data is in the container's writable layer. */
export const NO_VOLUME = '';

/** The key of the superuser Secret that the dump method creates for a new instance whose source had its password inline. */
export const SUPERUSER_SECRET_KEY = 'password';

/** The Secret that the dump method creates for the new instance's superuser: `<target>-superuser`. */
export function superuserSecretName(target: string): string {
  return `${target}-superuser`;
}

/**
 * Whether the old instance must keep running after the cutover: without a volume its data is in its container's
 * writable layer, so scaling it to 0 would erase it, and with it the way back (--rollback).
 */
export function keepsSourceRunning(s: { pvc: string }): boolean {
  return s.pvc === NO_VOLUME;
}

/** The data's size as the server reports it (pg_database_size of every database), for a source without a volume. */
export function sourceDataBytes(databases: Array<{ sizeBytes: number }>): number {
  return databases.reduce((sum, d) => sum + (Number.isFinite(d.sizeBytes) ? d.sizeBytes : 0), 0);
}

/** What check says, for --method dump, about a source without a volume or with its password in the manifest. */
export function dumpSourceFindings(i: {
  where: string;
  pgdata: string;
  hasVolume: boolean;
  inlinePassword?: string;
}): Finding[] {
  const out: Finding[] = [];
  if (!i.hasVolume) {
    out.push({
      id: 'no-volume',
      title: 'The data is on a volume',
      status: 'warn',
      found: `${i.where}: no volume is mounted at PGDATA ${i.pgdata}: the data lives in the container's writable layer and is lost on any restart, eviction or reschedule of its pod`,
      fix: 'nothing to do for --method dump: the new instance gets a PVC; the old instance is left running after the cutover (scaled to 0, its data would be gone)',
    });
  }
  if (i.inlinePassword) {
    out.push({
      id: 'inline-password',
      title: 'The superuser password is in a Secret',
      status: 'warn',
      found: `${i.where}: ${i.inlinePassword} is written in the manifest, readable by anyone who can read the workload`,
      fix: 'nothing to do for --method dump: the new instance reads it from a Secret that the upgrade creates; remove the inline password from your manifests afterwards',
    });
  }
  return out;
}

/** The report's lines on why a new instance matters for such a source: where data and password were, and are now. */
export function dumpSourceNotes(i: {
  source: string;
  sourcePvc: string;
  targetPvc: string;
  inlinePassword?: string;
  createdSecret?: { name: string; key: string };
  cutover: boolean;
}): string[] {
  const out: string[] = [];
  if (i.sourcePvc === NO_VOLUME) {
    out.push(
      `${i.source} kept its data in its container's writable layer (no volume at PGDATA): any restart, eviction or reschedule of its pod ` +
        `would have erased it. The new instance keeps it on PVC ${i.targetPvc}`,
    );
    out.push(
      i.cutover
        ? `${i.source} is left running, not scaled to 0: stopped, its data would be gone, and --rollback with it. It serves no one now (the Services lead ` +
            'to the new instance); delete it when you no longer need the way back'
        : `${i.source} keeps serving (--no-cutover); do not stop it before the applications use the new instance: its data would be gone`,
    );
  }
  if (i.inlinePassword && i.createdSecret) {
    out.push(
      `${i.source} had its superuser password written in its manifest (${i.inlinePassword}), readable by anyone who can read the workload. ` +
        `The new instance reads it from Secret ${i.createdSecret.name} (key ${i.createdSecret.key}), which this upgrade created. Remove the inline ` +
        'password from your manifests, and change it: it was readable there',
    );
  }
  return out;
}
