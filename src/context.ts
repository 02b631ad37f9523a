import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Cluster } from './k8s/cluster.ts';
import type { ResolvedContext } from './k8s/kubeconfig.ts';
import type { OutputFormat } from './renderer.ts';

/** Flags that every subcommand shares; the plugin parses them itself because kubectl won't pass its own. */
export interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  debug: boolean;
  color: boolean;
  yes: boolean;
  output?: OutputFormat;
}

/** The one kubeconfig context shared by all subcommands, resolved on first use and never before. */
export interface CommandContext {
  flags: GlobalFlags;
  resolve(): Promise<ResolvedContext>;
  /** The cluster client, built on first use; only then is @kubernetes/client-node loaded. */
  cluster(): Promise<Cluster>;
}

/** Builds the shared context. Nothing is read until a handler asks for it. */
export function createContext(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): CommandContext {
  let resolved: Promise<ResolvedContext> | undefined;
  let cluster: Promise<Cluster> | undefined;
  const resolve = () => (resolved ??= loadContext(flags, env));
  return {
    flags,
    resolve,
    cluster: () =>
      (cluster ??= (async () => {
        const ctx = await resolve();
        const { connectCluster } = await import('./k8s/client.ts');
        return connectCluster(ctx);
      })()),
  };
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

async function loadContext(flags: GlobalFlags, env: NodeJS.ProcessEnv): Promise<ResolvedContext> {
  const { mergeKubeconfigs, resolveContext } = await import('./k8s/kubeconfig.ts');
  const { locateKubeconfigFiles } = await import('./k8s/kubeconfig-files.ts');
  const files = locateKubeconfigFiles(flags.kubeconfig, env, {
    exists: (f) => fs.existsSync(f),
    read: (f) => fs.readFileSync(f, 'utf8'),
    home: () => env.HOME || os.homedir(),
  });
  if (files.length === 0) return inClusterContext(flags, env);
  return resolveContext(mergeKubeconfigs(files), flags);
}

/** Inside a pod with no kubeconfig, kubectl talks to the apiserver with the pod's service account. */
function inClusterContext(flags: GlobalFlags, env: NodeJS.ProcessEnv): ResolvedContext {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`;
  const nsFile = path.join(SA_DIR, 'namespace');
  const podNs = fs.existsSync(nsFile) ? fs.readFileSync(nsFile, 'utf8').trim() : 'default';
  return {
    sources: ['in-cluster service account'],
    contextName: 'in-cluster',
    namespace: flags.namespace ?? podNs,
    cluster: { server, 'certificate-authority': path.join(SA_DIR, 'ca.crt') },
    user: { tokenFile: path.join(SA_DIR, 'token') },
    clusterName: 'in-cluster',
    userName: 'in-cluster',
  };
}
