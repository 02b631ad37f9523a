import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { journalClaim, WRITES } from '../fixtures/writer.ts';
import type { ControlPlane } from '../k8s/control-plane.ts';
import { waitFor } from '../process.ts';
import { parseRows, type Fingerprint, type SqlRunner } from './fingerprint.ts';

/** One insert that the writing application saw committed: its id, the major of the server that ran it, the pod. */
export interface Write {
  id: number;
  major: number;
  pod: string;
}

/** kubectl with the test environment's kubeconfig, returning stdout (sync or async). */
export type Kubectl = (args: string[]) => string | Promise<string>;

/**
 * The host directory of the writer's journal PVC: the node agent keeps `local-path` volumes as directories under
 * `<nodeDir>/volumes/<volumeHandle>`, and the journal claim always uses that class.
 */
export async function journalDir(kubectl: Kubectl, nodeDir: string, ns: string, app: string): Promise<string> {
  return claimDir(kubectl, nodeDir, ns, journalClaim(app));
}

/** The host directory of a bound `local-path` claim (the agent's `<nodeDir>/volumes/<volumeHandle>`). */
export async function claimDir(kubectl: Kubectl, nodeDir: string, ns: string, claim: string): Promise<string> {
  const pv = (await kubectl(['-n', ns, 'get', 'pvc', claim, '-o', 'jsonpath={.spec.volumeName}'])).trim();
  if (!pv) throw new Error(`the claim ${ns}/${claim} is not bound`);
  const handle = (await kubectl(['get', 'pv', pv, '-o', 'jsonpath={.spec.csi.volumeHandle}'])).trim();
  return path.join(nodeDir, 'volumes', handle);
}

/** Every write journaled in a journal directory, in no particular order; a torn last line is left out. */
export function readJournal(dir: string): Write[] {
  const out: Write[] = [];
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.log')) : []) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const m = /^(\d+),(\d+),([a-z0-9.-]+)$/.exec(line);
      if (m) out.push({ id: Number(m[1]), major: Number(m[2]), pod: m[3] as string });
    }
  }
  return out;
}

/** The writes that the application `app` (the Deployment's name) in `ns` saw committed, read from its journal on the host. */
export async function committedWrites(cp: ControlPlane, ns: string, app = 'circleci-frontend'): Promise<Write[]> {
  return readJournal(await journalOf(cp, ns, app));
}

// A bound claim keeps its volume: the directory is looked up once (two kubectl processes, about 80 ms of CPU each,
// were spent on every poll of waitForWrites), and again only when it is gone.
const journals = new Map<string, string>();
async function journalOf(cp: ControlPlane, ns: string, app: string): Promise<string> {
  const key = `${cp.dir}/${ns}/${app}`;
  const known = journals.get(key);
  if (known && fs.existsSync(known)) return known;
  const kubectl = async (args: string[]) => (await cp.kubectl(args)).stdout;
  const dir = await journalDir(kubectl, path.join(cp.dir, 'node'), ns, app);
  if (fs.existsSync(dir)) journals.set(key, dir);
  return dir;
}

/** How many writes, in all and per server major. */
export function countWrites(writes: Write[]): { total: number; byMajor: Record<number, number> } {
  const byMajor: Record<number, number> = {};
  for (const w of writes) byMajor[w.major] = (byMajor[w.major] ?? 0) + 1;
  return { total: writes.length, byMajor };
}

/**
 * Waits until the application has journaled more than `moreThan` writes (on server major `major`, if given) and
 * returns all its writes: the proof that it really wrote, before an upgrade and again after it.
 */
export async function waitForWrites(
  cp: ControlPlane,
  ns: string,
  opts: { app?: string; major?: number; moreThan: number; timeoutMs?: number },
): Promise<Write[]> {
  return pollWrites(() => committedWrites(cp, ns, opts.app), { ...opts, what: `the application in ${ns}` });
}

/** waitForWrites over any way of reading the journal (bench and demo read it through their own kubectl). */
export async function pollWrites(
  read: () => Write[] | Promise<Write[]>,
  opts: { what?: string; major?: number; moreThan: number; timeoutMs?: number },
): Promise<Write[]> {
  let writes: Write[] = [];
  const counted = () => (opts.major === undefined ? writes.length : (countWrites(writes).byMajor[opts.major] ?? 0));
  await waitFor(
    `more than ${opts.moreThan} committed writes${opts.major ? ` on ${opts.major}` : ''} by ${opts.what ?? 'the application'}`,
    async () => {
      writes = await read();
      return counted() > opts.moreThan;
    },
    opts.timeoutMs ?? 90_000,
  );
  return writes;
}

/** What assertWritesPresent found. */
export interface WritesCheck {
  /** Journaled writes. */
  committed: number;
  /** Of them, found in the table. */
  present: number;
  /** Of them, missing but allowed to be (committed on the major that a rollback threw away). */
  discardedByRollback: number;
}

/** A rollback that ran: the major it left, and the journal as it stood once the rollback had returned. */
export interface RolledBack {
  from: number;
  journal: Write[];
}

/**
 * Asserts that every write the application saw committed is in its table, matched by id and pod (after a
 * rollback the identity sequence is back where the snapshot left it, so an id alone may be taken again). The one
 * legitimate loss: after a rollback from major `from`, the writes committed on that major before the rollback
 * are gone (the old cluster is the snapshot cut once the database had stopped, before any of them). Every other
 * write (before the downtime, after the rollback, after a later upgrade again) must be there. Fails listing the
 * missing ones.
 */
export async function assertWritesPresent(
  sql: SqlRunner,
  committed: Write[],
  opts: { rolledBack?: RolledBack } = {},
): Promise<WritesCheck> {
  const rows = committed.length ? parseRows(await sql(WRITES.db, `SELECT id, pod FROM ${WRITES.table}`)) : [];
  const key = (w: { id: number | string; pod: string }) => `${w.id},${w.pod}`;
  const have = new Set(rows.map(([id, pod]) => key({ id: id as string, pod: pod as string })));
  const discarded = new Set((opts.rolledBack?.journal ?? []).filter((w) => w.major === opts.rolledBack?.from).map(key));
  const absent = committed.filter((w) => !have.has(key(w)));
  const missing = absent.filter((w) => !discarded.has(key(w)));
  const list = missing
    .slice(0, 20)
    .map((w) => `id ${w.id} (pod ${w.pod}, on ${w.major})`)
    .join(', ');
  assert.ok(
    missing.length === 0,
    `${missing.length} of ${committed.length} writes the application saw committed are missing from ${WRITES.table}: ${list}${missing.length > 20 ? ', …' : ''}`,
  );
  return { committed: committed.length, present: committed.length - absent.length, discardedByRollback: absent.length };
}

/**
 * A copy of a fingerprint without one table of one database, nor its sequences and indexes (named after the table,
 * as PostgreSQL names them): for comparing fingerprints taken while an application writes to that table, which
 * the committed-writes check covers instead.
 */
export function withoutTable(fp: Fingerprint, db: string, table: string): Fingerprint {
  const d = fp.perDb[db];
  if (!d) return fp;
  const [schema, name] = table.split('.') as [string, string];
  const own = (n: string) => n === table || n.startsWith(`${schema}.${name}_`);
  const drop = <T>(r: Record<string, T>) => Object.fromEntries(Object.entries(r).filter(([k]) => !own(k)));
  return {
    ...fp,
    perDb: {
      ...fp.perDb,
      [db]: {
        ...d,
        tables: drop(d.tables),
        sequences: drop(d.sequences),
        objects: d.objects.filter((o) => !o.startsWith(`index ${schema}.${name}_`)),
      },
    },
  };
}

/** A fingerprint without the writing application's table (fixtures/writer.ts). */
export const withoutWrites = (fp: Fingerprint): Fingerprint => withoutTable(fp, WRITES.db, WRITES.table);
