import type { Cluster } from '../../../k8s/cluster.ts';
import { discover, DUMP_SOURCE, type SourceDiscovery } from '../../../discovery/discover.ts';
import { readSuperuser } from '../../../discovery/credentials.ts';
import { type CliError, usageError } from '../../../exit-codes.ts';
import { podsSelected, sameServerProblem, selectorMatches } from '../../../postgres/dump-identity.ts';
import { TARGET_CONTENT_SQL } from '../../../postgres/dump-script.ts';
import { nonEmptyTarget } from '../../../postgres/dump-existing.ts';
import { refOf } from '../../../postgres/workload.ts';
import { liveReach } from '../../../server/reach.ts';
import { psqlEach } from '../../../server/psql.ts';
import { scaleTo, waitWorkloadReady } from '../../../steps/workload.ts';
import type { DumpState } from '../../../state/dump-state.ts';
import { sourceIdentity, targetIdentity } from './identity.ts';

/** An existing instance named by `--target`: its own discovery (pod, container, port, superuser), password and pod selector. */
export interface ExistingTarget {
  d: SourceDiscovery;
  /** Its own superuser's password (its Secret's), never the source's; held in memory only. */
  password: string;
  /** Its workload's spec.selector.matchLabels: what the source's Services take at cutover. */
  selector: Record<string, string>;
  /** Its server_version, e.g. `14.12`. */
  version: string;
}

const refused = (ref: string, why: string) => usageError(`--target ${ref}: ${why}; nothing was changed`);

/** The workload that `--target` names: itself, or the one workload whose pods a named Service selects. */
async function targetWorkloadRef(cluster: Cluster, ns: string, ref: string): Promise<string> {
  const [kind, name] = ref.includes('/')
    ? [ref.slice(0, ref.indexOf('/')).toLowerCase(), ref.slice(ref.indexOf('/') + 1)]
    : ['', ref];
  if (['svc', 'service', 'services'].includes(kind) || !kind) {
    const svc = await cluster.readObject({ apiVersion: 'v1', kind: 'Service', namespace: ns, name });
    if (svc) {
      const all = (await cluster.listWorkloads(ns)).filter((w) =>
        selectorMatches(svc.spec?.selector, w.template.metadata?.labels ?? {}),
      );
      if (all.length !== 1) {
        throw refused(
          ref,
          `Service ${name} selects the pods of ${all.length ? all.map((w) => refOf({ kind: w.kind, name: w.metadata.name })).join(', ') : 'no workload'}: ` +
            "name the target's workload instead (deploy/<name> or sts/<name>)",
        );
      }
      return refOf({ kind: all[0]!.kind, name: all[0]!.metadata.name });
    }
  }
  return ref;
}

/** Discovers the instance named by `--target` (or recorded as the target) like any workload, with its own Secret. */
export async function resolveExisting(cluster: Cluster, ns: string, ref: string): Promise<ExistingTarget> {
  const d = await discover(cluster, ns, await targetWorkloadRef(cluster, ns, ref), {}, DUMP_SOURCE);
  const where = `${d.workload.kind} ${ns}/${d.workload.metadata.name}`;
  if (d.workload.replicas !== 1)
    throw refused(ref, `${where} has ${d.workload.replicas} replicas: an existing target runs exactly one`);
  if (!d.pod?.ready) throw refused(ref, `${where} has no Ready pod: start it (one replica, Ready) first`);
  const password = (
    await readSuperuser(cluster, d).catch((err: unknown) => {
      throw refused(
        ref,
        `its superuser's password cannot be read from its own Secret (${(err as Error).message}); --superuser-secret applies to the source only`,
      );
    })
  ).password;
  const version =
    (
      await targetQuery(cluster, d, password, 'show server_version').catch((err: unknown) => {
        throw refused(
          ref,
          `${where} does not let its superuser ${d.superuser?.user ?? 'postgres'} in with the password of its own Secret (${(err as Error).message})`,
        );
      })
    ).split(' ')[0] ?? '';
  const selector = d.workload.selector;
  if (!Object.keys(selector).length)
    throw refused(ref, `${where} has no spec.selector.matchLabels for the Services to take at cutover`);
  return { d, password, selector, version };
}

/**
 * A resumed run's existing target, as recorded: a run stopped inside its restart for the load (scaled to 0, not yet
 * back to 1) left it at 0, and it is scaled back up first, as the plugin's own new instance is.
 */
export async function resumeExisting(
  cluster: Cluster,
  ns: string,
  t: { kind: 'StatefulSet' | 'Deployment'; name: string },
  timeoutMs: number,
): Promise<ExistingTarget> {
  const ref = { kind: t.kind, name: t.name, replicas: 1 };
  if ((await cluster.getWorkload(ns, t.kind, t.name))?.replicas === 0) {
    await scaleTo(cluster, ns, ref, 1);
    await waitWorkloadReady(cluster, ns, ref, timeoutMs);
  }
  return resolveExisting(cluster, ns, refOf(t));
}

/** One line of SQL on the target, in its pod, as its own superuser. */
async function targetQuery(cluster: Cluster, d: SourceDiscovery, password: string, sql: string): Promise<string> {
  return ((await psqlEach(cluster, d, liveReach(d), password, ['postgres'], sql)).get('postgres') ?? '').trim();
}

/** What the target holds now (TARGET_CONTENT_SQL's line), empty when it is empty. */
export async function existingContent(cluster: Cluster, e: ExistingTarget): Promise<string> {
  return targetQuery(cluster, e.d, e.password, TARGET_CONTENT_SQL.replace(/\s*\n\s*/g, ' '));
}

/**
 * `--target`: an existing instance to load into, refused (exit 2, nothing changed) when it is the source's server,
 * runs another major than `--to`, holds anything, or has a pod selector that also picks the source's pods.
 */
export async function verifyExistingTarget(
  cluster: Cluster,
  src: SourceDiscovery,
  ref: string,
  to: number,
): Promise<ExistingTarget> {
  const pods = await cluster.listPods(src.namespace);
  const same = sameServerProblem(
    await sourceIdentity(cluster, src, pods),
    await targetIdentity(cluster, src.namespace, ref, pods),
  );
  if (same) throw usageError(`${same}; nothing was changed`);
  const e = await resolveExisting(cluster, src.namespace, ref);
  const where = `${e.d.workload.kind} ${src.namespace}/${e.d.workload.metadata.name}`;
  const major = Number.parseInt(e.version, 10);
  if (major !== to)
    throw refused(ref, `${where} runs PostgreSQL ${e.version}, not ${to} (--to): name an instance of PostgreSQL ${to}`);
  const theirs = podsSelected(e.selector, podsSelected(src.workload.selector, pods));
  if (theirs.length || selectorMatches(e.selector, src.workload.template.metadata?.labels ?? {})) {
    throw refused(
      ref,
      `its pod selector ${JSON.stringify(e.selector)} also selects the source's pods: the cutover could not tell them apart; give the target labels of its own`,
    );
  }
  const content = await existingContent(cluster, e);
  if (content) throw refused(ref, nonEmptyTarget(where, content, e.d.superuser?.user ?? 'postgres'));
  return e;
}

/** Why a load into an existing target cannot go on after a run stopped during it: what to drop first. */
export function halfLoaded(ns: string, e: ExistingTarget, content: string, rollback: string): CliError {
  return usageError(
    `the load into the existing ${e.d.workload.kind} ${ns}/${e.d.workload.metadata.name} stopped half-way in an earlier run, and the plugin ` +
      `did not create that instance, so it does not reset it: it holds now ${content}, which the load made (it was empty at the plan). Drop them ` +
      `(DROP DATABASE …; DROP ROLE …; as its superuser), then run again to load it anew; or undo: ${rollback}. The applications stay down meanwhile`,
  );
}

/** The record's target for an existing instance: its own names, image, superuser and container; `existing` set. */
export function existingTargetRecord(e: ExistingTarget, md5Logins: boolean): DumpState['target'] {
  return {
    kind: e.d.workload.kind,
    name: e.d.workload.metadata.name,
    pvc: e.d.pvc?.metadata.name ?? '',
    service: '',
    image: e.d.image,
    superuser: e.d.superuser?.user ?? 'postgres',
    container: e.d.container.name,
    md5Logins,
    existing: true,
  };
}
