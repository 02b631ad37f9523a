import * as path from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { usageError } from '../exit-codes.ts';

/** One kubeconfig file as read from disk. */
export interface KubeconfigFile {
  path: string;
  text: string;
}

type Fields = Record<string, unknown>;
interface Named {
  name: string;
  [key: string]: unknown;
}

/** Several kubeconfig files merged the way kubectl merges them. */
export interface MergedKubeconfig {
  sources: string[];
  clusters: Named[];
  users: Named[];
  contexts: Named[];
  currentContext?: string;
}

/** The context that every subcommand uses, with the cluster and user it names. */
export interface ResolvedContext {
  sources: string[];
  contextName: string;
  namespace: string;
  cluster: Fields & { server: string };
  user: Fields;
  clusterName: string;
  userName: string;
}

/** Paths in these fields are relative to the file that holds them (kubectl's ResolvePaths). */
const PATH_FIELDS: Record<'clusters' | 'users', Record<string, string[]>> = {
  clusters: { cluster: ['certificate-authority'] },
  users: { user: ['client-certificate', 'client-key', 'tokenFile'] },
};

/**
 * Merges kubeconfig files as kubectl does: the first file that names a cluster, user or context wins, and so
 * does the first current-context. Relative file paths are made absolute against their own file's directory.
 */
export function mergeKubeconfigs(files: KubeconfigFile[]): MergedKubeconfig {
  const merged: MergedKubeconfig = { sources: [], clusters: [], users: [], contexts: [] };
  for (const file of files) {
    const doc = parseKubeconfig(file);
    merged.sources.push(file.path);
    const dir = path.dirname(path.resolve(file.path));
    for (const kind of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of namedList(doc[kind], kind, file.path)) {
        if (merged[kind].some((e) => e.name === entry.name)) continue;
        merged[kind].push(kind === 'contexts' ? entry : absolutize(entry, PATH_FIELDS[kind], dir));
      }
    }
    const current = doc['current-context'];
    if (merged.currentContext === undefined && typeof current === 'string' && current !== '') {
      merged.currentContext = current;
    }
  }
  return merged;
}

function parseKubeconfig(file: KubeconfigFile): Fields {
  let doc: unknown;
  try {
    doc = loadYaml(file.text);
  } catch (err) {
    throw usageError(`kubeconfig ${file.path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw usageError(`kubeconfig ${file.path} is not a kubeconfig (expected a YAML mapping)`);
  }
  return doc as Fields;
}

function namedList(value: unknown, kind: string, file: string): Named[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((e) => typeof e?.name !== 'string')) {
    throw usageError(`kubeconfig ${file}: "${kind}" must be a list of entries that each have a name`);
  }
  return value as Named[];
}

function absolutize(entry: Named, fields: Record<string, string[]>, dir: string): Named {
  const out: Named = { ...entry };
  for (const [section, keys] of Object.entries(fields)) {
    const body = entry[section];
    if (!body || typeof body !== 'object') continue;
    const copy: Fields = { ...(body as Fields) };
    for (const key of keys) {
      const v = copy[key];
      if (typeof v === 'string' && v !== '' && !path.isAbsolute(v)) copy[key] = path.resolve(dir, v);
    }
    const exec = copy.exec as Fields | undefined;
    if (exec && typeof exec.command === 'string' && exec.command.includes('/') && !path.isAbsolute(exec.command)) {
      copy.exec = { ...exec, command: path.resolve(dir, exec.command) };
    }
    out[section] = copy;
  }
  return out;
}

/**
 * Picks the context (--context, else current-context) and the namespace (-n, else the context's, else
 * "default"). Every problem is a usage error that lists what does exist.
 */
export function resolveContext(
  merged: MergedKubeconfig,
  flags: { context?: string; namespace?: string },
): ResolvedContext {
  const from = merged.sources.join(':');
  const known = merged.contexts.map((c) => c.name);
  const knownText = known.length ? known.join(', ') : '(none)';
  const contextName = flags.context ?? merged.currentContext;
  if (!contextName) {
    throw usageError(`no current context is set in ${from}; pass --context, one of: ${knownText}`);
  }
  const ctx = merged.contexts.find((c) => c.name === contextName);
  if (!ctx) {
    throw usageError(`context "${contextName}" is not in ${from}; known contexts: ${knownText}`);
  }
  const body = (ctx.context ?? {}) as Fields;
  const clusterName = String(body.cluster ?? '');
  const userName = String(body.user ?? '');
  const cluster = merged.clusters.find((c) => c.name === clusterName)?.cluster as Fields | undefined;
  if (!cluster || typeof cluster.server !== 'string' || cluster.server === '') {
    throw usageError(`context "${contextName}" names cluster "${clusterName}", which has no server in ${from}`);
  }
  const user = (merged.users.find((u) => u.name === userName)?.user ?? {}) as Fields;
  const ctxNamespace = typeof body.namespace === 'string' && body.namespace !== '' ? body.namespace : undefined;
  return {
    sources: merged.sources,
    contextName,
    namespace: flags.namespace ?? ctxNamespace ?? 'default',
    cluster: cluster as Fields & { server: string },
    user,
    clusterName,
    userName,
  };
}

/** A kubeconfig document holding only the resolved context, for client libraries to load. */
export function toSingleContextDoc(r: ResolvedContext): Fields {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: r.clusterName, cluster: r.cluster }],
    users: [{ name: r.userName || 'user', user: r.user }],
    contexts: [
      { name: r.contextName, context: { cluster: r.clusterName, user: r.userName || 'user', namespace: r.namespace } },
    ],
    'current-context': r.contextName,
  };
}
