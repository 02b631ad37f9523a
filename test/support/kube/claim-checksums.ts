import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ControlPlane } from '../k8s/control-plane.ts';
import { claimDir } from '../pg/writes.ts';

/** sha256 of every file of a data directory, by its path relative to PGDATA (`base/16384/16385`). */
export type Checksums = Map<string, string>;

let made = 0;

/**
 * Checksums of the files of a stopped server's data directory, read as a user would: a short-lived pod that mounts
 * the claim read-only, runs as the data's owner (`uid`) and runs `sha256sum` over every file under `pgdata` (a path
 * inside the claim, '' for its root). The claim's server must be stopped (its pod gone), or the sums mean nothing.
 */
export async function claimChecksums(
  cp: ControlPlane,
  ns: string,
  claim: string,
  uid: number,
  pgdata: string,
): Promise<Checksums> {
  const name = `checksums-${++made}-${process.pid.toString(36)}`;
  const dir = pgdata ? `/data/${pgdata}` : '/data';
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: {
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'sum',
          image: 'busybox:1.36',
          command: ['sh', '-c', `cd '${dir}' && find . -type f | sort | xargs sha256sum`],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim, readOnly: true } }],
    },
  };
  await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
  const done = await cp.kubectl(
    ['-n', ns, 'wait', '--for=jsonpath={.status.phase}=Succeeded', `pod/${name}`, '--timeout=180s'],
    { allowFail: true },
  );
  const logs = await cp.kubectl(['-n', ns, 'logs', name], { allowFail: true });
  await cp.kubectl(['-n', ns, 'delete', 'pod', name, '--wait=false'], { allowFail: true });
  if (done.code !== 0)
    throw new Error(
      `the checksum pod ${ns}/${name} on claim ${claim} did not succeed: ${done.stderr}\n${logs.stdout}${logs.stderr}`,
    );
  const sums: Checksums = new Map();
  for (const line of logs.stdout.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\.\/(.+)$/.exec(line);
    if (m) sums.set(m[2] as string, m[1] as string);
  }
  if (sums.size === 0)
    throw new Error(`the checksum pod ${ns}/${name} found no file under ${dir}: ${logs.stdout}${logs.stderr}`);
  return sums;
}

/**
 * A file of a user relation: `base/<dboid>/<filenode>[_fsm|_vm|_init][.<segment>]` with a filenode of a user
 * object (>= 16384, FirstNormalObjectId): the tables, indexes, sequences and TOAST of the users' data, every fork.
 */
export function isUserRelationFile(file: string): boolean {
  const m = /^base\/\d+\/(\d+)(?:_(?:fsm|vm|init))?(?:\.\d+)?$/.exec(file);
  return !!m && Number(m[1]) >= 16384;
}

/** The files of two checksum sets that differ (changed, added or removed), split into user relation files and the rest. */
export function checksumDiff(before: Checksums, after: Checksums): { user: string[]; other: string[] } {
  const files = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changed = files
    .filter((f) => before.get(f) !== after.get(f))
    .map((f) => (before.has(f) ? (after.has(f) ? f : `${f} (removed)`) : `${f} (added)`));
  return {
    user: changed.filter((f) => isUserRelationFile(f.split(' ')[0] as string)),
    other: changed.filter((f) => !isUserRelationFile(f.split(' ')[0] as string)),
  };
}

/** The user relation files of a claim, read from the node's host directory: kept to explain a difference, not to judge one. */
export async function hostUserFiles(
  cp: ControlPlane,
  ns: string,
  claim: string,
  pgdata: string,
): Promise<Map<string, Buffer>> {
  const dir = path.join(
    await claimDir(async (a) => (await cp.kubectl(a)).stdout, path.join(cp.dir, 'node'), ns, claim),
    pgdata,
  );
  const out = new Map<string, Buffer>();
  for (const db of fs.readdirSync(path.join(dir, 'base'))) {
    for (const f of fs.readdirSync(path.join(dir, 'base', db))) {
      const rel = `base/${db}/${f}`;
      if (isUserRelationFile(rel)) out.set(rel, fs.readFileSync(path.join(dir, rel)));
    }
  }
  return out;
}

/** Which 8 kB pages of a relation file differ, and at which offsets in the page (the tuple headers' hint bits, the page header…). */
export function pageDiff(before: Buffer, after: Buffer): string {
  const pages: string[] = [];
  for (let p = 0; p * 8192 < Math.max(before.length, after.length); p++) {
    const offs: number[] = [];
    for (let i = p * 8192; i < (p + 1) * 8192; i++) if (before[i] !== after[i]) offs.push(i - p * 8192);
    if (offs.length)
      pages.push(`page ${p}: ${offs.length} bytes at ${offs.slice(0, 12).join(',')}${offs.length > 12 ? ',…' : ''}`);
  }
  return `${before.length} → ${after.length} bytes; ${pages.join('; ') || 'no page differs'}`;
}

const HINTS: Record<number, string> = {
  256: 'XMIN_COMMITTED',
  512: 'XMIN_INVALID',
  1024: 'XMAX_COMMITTED',
  2048: 'XMAX_INVALID',
};

/**
 * Whether two versions of a heap file differ only by hint bits that a server sets on a tuple once it has learnt
 * its inserter's or locker's fate (t_infomask's HEAP_XMIN_COMMITTED, _INVALID, HEAP_XMAX_COMMITTED, _INVALID, only
 * ever added): no tuple's data, no page header, no line pointer changed. Returns the bits added and on how many
 * tuples, or what else differs. (The page as bufpage.h lays it out: a 24-byte header, pd_lower at 12, 4-byte line
 * pointers from 24 (lp_off in bits 0-14, lp_flags in 15-16), t_infomask at 20 in each tuple's header.)
 */
export function hintBitsOnly(
  before: Buffer,
  after: Buffer,
): { ok: true; tuples: number; bits: string[] } | { ok: false; why: string } {
  if (before.length !== after.length) return { ok: false, why: `size ${before.length} → ${after.length}` };
  let tuples = 0;
  const bits = new Set<string>();
  for (let p = 0; p < before.length; p += 8192) {
    const page = before.subarray(p, p + 8192);
    const infomask = new Map<number, number>();
    for (let lp = 24; lp < page.readUInt16LE(12); lp += 4) {
      const id = page.readUInt32LE(lp);
      if (((id >>> 15) & 3) === 1) infomask.set(id & 0x7fff, 0);
    }
    const seen = new Set<number>();
    for (let i = 0; i < 8192; i++) {
      if (before[p + i] === after[p + i]) continue;
      const tuple = [i - 20, i - 21].find((t) => infomask.has(t));
      if (tuple === undefined) return { ok: false, why: `page ${p / 8192} byte ${i} is no tuple's t_infomask` };
      if (seen.has(tuple)) continue;
      seen.add(tuple);
      const was = before.readUInt16LE(p + tuple + 20);
      const now = after.readUInt16LE(p + tuple + 20);
      if ((was & ~now) !== 0 || (now & ~was & ~0x0f00) !== 0)
        return {
          ok: false,
          why: `page ${p / 8192} tuple at ${tuple}: t_infomask ${was.toString(16)} → ${now.toString(16)}`,
        };
      for (const [bit, name] of Object.entries(HINTS)) if (now & ~was & Number(bit)) bits.add(name);
      tuples++;
    }
  }
  return { ok: true, tuples, bits: [...bits] };
}
