import { usageError } from '../exit-codes.ts';
import type { Pod, Workload } from './cluster.ts';

// A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters; a value: at most
// 63 characters, empty or alphanumeric at both ends (Kubernetes' own validation, as kubectl applies it).
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function keyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix.length > 253 || !PREFIX.test(prefix)))
    return `"${prefix}" is not a DNS subdomain (the key's prefix)`;
  if (name.length > 63 || !NAME.test(name))
    return `"${name}" is not a label name (at most 63 letters, digits, '-', '_', '.', alphanumeric at both ends)`;
  return undefined;
}

/**
 * Parses an equality selector `k=v[,k=v]` (`==` too), as kubectl reads it. Anything else is refused before the
 * cluster is touched: an empty selector would match every workload of the namespace and scale all of them to 0,
 * and set-based or `!=` terms select what the user did not name (`tier!=db` matches nothing that has no tier).
 */
export function parseSelector(s: string, flag = '--app-selector'): Record<string, string> {
  const refuse = (why: string) =>
    usageError(
      `${flag} "${s}": ${why}; give the applications' labels as key=value[,key=value], e.g. layer=application`,
    );
  if (!s.trim())
    throw refuse('an empty selector matches every workload in the namespace, which the upgrade would scale to 0');
  const out: Record<string, string> = {};
  for (const raw of s.split(',')) {
    const part = raw.trim();
    if (/!=|^!|\s(in|notin)\s*\(/.test(part))
      throw refuse(`"${part}" is not an equality term (!=, !key, in and notin are not supported)`);
    const m = /^([^=\s]+)\s*==?\s*([^=\s]*)$/.exec(part);
    if (!m) throw refuse(`"${part}" is not key=value`);
    const [, key = '', value = ''] = m;
    const problem =
      keyProblem(key) ??
      (value.length > 63 || (value !== '' && !NAME.test(value)) ? `"${value}" is not a label value` : undefined);
    if (problem) throw refuse(problem);
    if (key in out && out[key] !== value)
      throw refuse(`${key} is given twice with different values, which matches nothing`);
    out[key] = value;
  }
  return out;
}

/** One term of a LabelSelector's matchExpressions. */
export interface LabelRequirement {
  key: string;
  operator: string;
  values?: string[];
}

/**
 * A workload's selector as the apiserver's `labelSelector` parameter: matchLabels and matchExpressions (In,
 * NotIn, Exists, DoesNotExist) alike, so that a workload selected by expressions only lists its own pods, not
 * every pod of the namespace. An operator the apiserver does not know is refused rather than left out.
 */
export function labelSelectorString(
  matchLabels: Record<string, string> = {},
  expressions: LabelRequirement[] = [],
): string {
  const terms = Object.entries(matchLabels).map(([k, v]) => `${k}=${v}`);
  for (const e of expressions) {
    const values = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') terms.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') terms.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') terms.push(e.key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${e.key}`);
    else
      throw new Error(
        `label selector: operator ${e.operator} of key ${e.key} is not In, NotIn, Exists or DoesNotExist`,
      );
  }
  return terms.join(',');
}

/** Whether labels satisfy matchLabels and every matchExpressions term, as the apiserver decides it. */
export function labelsMatch(
  labels: Record<string, string> | undefined,
  matchLabels: Record<string, string> = {},
  expressions: LabelRequirement[] = [],
): boolean {
  const l = labels ?? {};
  if (!Object.entries(matchLabels).every(([k, v]) => l[k] === v)) return false;
  return expressions.every((e) => {
    const has = Object.hasOwn(l, e.key);
    if (e.operator === 'In') return has && (e.values ?? []).includes(l[e.key] as string);
    if (e.operator === 'NotIn') return !has || !(e.values ?? []).includes(l[e.key] as string);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    return false;
  });
}

/** A workload's pods: by matchLabels and matchExpressions; none when its selector is empty. */
export function workloadPods(w: Pick<Workload, 'selector' | 'matchExpressions'>, pods: Pod[]): Pod[] {
  if (!Object.keys(w.selector).length && !w.matchExpressions?.length) return [];
  return pods.filter((p) => labelsMatch(p.metadata.labels, w.selector, w.matchExpressions));
}
