import type { Pod } from '../k8s/cluster.ts';

/**
 * The dump method's first safety: the source and the target must be two servers. The seed's warning ("double
 * check PG_HOST vs NEW_PG_HOST") is about names; this compares what identifies a server instead, so that two
 * Service names, or a workload and a Service, that lead to one server are caught.
 */

/** What identifies one server, as far as the cluster and the server itself tell. */
export interface ServerIdentity {
  /** How the user named it, for the message: `sts/postgresql`, `svc/db`. */
  label: string;
  /** The workload's metadata.uid. */
  workloadUid?: string;
  /** The data PVCs (namespace/name) and their bound volumes (`pv:<name>`). */
  volumes?: string[];
  /** The pods (namespace/name) that serve it. */
  pods?: string[];
  /** pg_control_system().system_identifier, as text (a bigint). */
  systemIdentifier?: string;
}

/**
 * The pods that a Service's selector sends traffic to, as the endpoints controller picks them: every label of the
 * selector equal on the pod (the pods are the Service's namespace's). A Service without a selector picks none (its
 * endpoints are written by hand, and cannot be judged from labels). The same for a workload's selector.
 */
export function podsSelected(selector: Record<string, string> | undefined, pods: Pod[]): Pod[] {
  return pods.filter((p) => selectorMatches(selector, p.metadata.labels ?? {}));
}

/**
 * What identifies the server behind these pods (a Service's or a workload's, in namespace `ns`): the pods and the
 * PVCs they mount, with what else is known (the workload's uid, the bound volumes as `pv:<name>`, the
 * system_identifier).
 */
export function identityOfPods(
  label: string,
  ns: string,
  pods: Pod[],
  more: Omit<ServerIdentity, 'label'> = {},
): ServerIdentity {
  const claims = pods.flatMap((p) =>
    (p.spec.volumes ?? []).flatMap((v) =>
      v.persistentVolumeClaim ? [`${ns}/${v.persistentVolumeClaim.claimName}`] : [],
    ),
  );
  return {
    label,
    ...more,
    pods: [...pods.map((p) => `${ns}/${p.metadata.name}`), ...(more.pods ?? [])],
    volumes: [...claims, ...(more.volumes ?? [])],
  };
}

/** Whether a selector would pick pods with these labels (the target's pods must not match the source's Service). */
export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  const terms = Object.entries(selector ?? {});
  return terms.length > 0 && terms.every(([k, v]) => labels[k] === v);
}

const shared = (a: string[] | undefined, b: string[] | undefined) => (a ?? []).filter((x) => (b ?? []).includes(x));

/**
 * Why `a` and `b` are the same server: each thing they share, as a sentence; empty when they are two servers. Any
 * one shared thing is enough to refuse: a workload, a volume, a pod, or the system identifier (a server restored
 * from a copy of the other's files shares it too, and is refused as well: the target must be a fresh initdb).
 */
export function sameServerReasons(a: ServerIdentity, b: ServerIdentity): string[] {
  const reasons: string[] = [];
  if (a.workloadUid && a.workloadUid === b.workloadUid)
    reasons.push(`${a.label} and ${b.label} are the same workload (uid ${a.workloadUid})`);
  const vols = shared(a.volumes, b.volumes);
  if (vols.length) reasons.push(`${a.label} and ${b.label} use the same volume (${vols.join(', ')})`);
  const pods = shared(a.pods, b.pods);
  if (pods.length) reasons.push(`${a.label} and ${b.label} lead to the same pod (${pods.join(', ')})`);
  if (a.systemIdentifier && a.systemIdentifier === b.systemIdentifier) {
    reasons.push(
      `${a.label} and ${b.label} have the same system_identifier ${a.systemIdentifier}: one server, or a copy of its files`,
    );
  }
  return reasons;
}

/** The refusal (exit 2, nothing changed) when the source and the target are one server; undefined when they are two. */
export function sameServerProblem(source: ServerIdentity, target: ServerIdentity): string | undefined {
  const reasons = sameServerReasons(source, target);
  if (!reasons.length) return undefined;
  return `the source and the target are the same server: ${reasons.join('; ')}. A dump into itself would destroy it; name another target, or let the plugin create one (no --target)`;
}
