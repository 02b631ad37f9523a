import type { Cluster } from '../k8s/cluster.ts';
import type { Container, PodSpec } from '../k8s/pod-spec.ts';
import type { Flavour } from '../postgres/workload.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import {
  superuserVars,
  userVars,
  varSources,
  type SuperuserSource,
  type ValueSource,
} from '../postgres/credentials.ts';
import type { SourceDiscovery } from './discover.ts';

/** The value behind one source, read through the API (a Secret's stays in memory), or undefined when it is not there. */
async function readSource(cluster: Cluster, ns: string, s: ValueSource): Promise<string | undefined> {
  if (s.kind === 'value') return s.value;
  if (s.kind === 'secret') return cluster.readSecretKey(ns, s.name, s.key);
  if (s.kind === 'configMap')
    return (await cluster.readObject({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: s.name }))?.data?.[
      s.key
    ];
  return undefined;
}

/**
 * The user the image was told to create (POSTGRES_USER and the like), read wherever it is: env, envFrom, a
 * `*_FILE`. Undefined when unset, or not readable with this user's permissions (cleanup reads no Secret).
 */
export async function appUserOf(
  cluster: Cluster,
  ns: string,
  spec: PodSpec,
  c: Container,
  flavour: Flavour,
): Promise<string | undefined> {
  for (const v of userVars(flavour)) {
    for (const s of varSources(spec, c, v)) {
      const value = await readSource(cluster, ns, s).catch((err: { code?: number }) => {
        if (err.code === 403) return undefined;
        throw err;
      });
      if (value !== undefined) return value.trim();
    }
  }
  return undefined;
}

/** What a source that held nothing was, for the message that says where check looked. */
const missed = (s: ValueSource) =>
  s.kind === 'secret'
    ? `${s.via}: Secret has no key ${s.key}`
    : s.kind === 'configMap'
      ? `${s.via}: no key ${s.key}`
      : s.via;

/**
 * Finds the superuser and reads its password, the way the image's entrypoint got them: env entries, envFrom
 * Secrets, `*_FILE` files from Secret volumes; `--superuser-secret` overrides. The password is never printed;
 * d.superuser is updated with who and where (name and key only). Bad input (exit 2) when it cannot be found,
 * naming every place looked at and the flag that settles it.
 */
export async function readSuperuser(cluster: Cluster, d: SourceDiscovery): Promise<{ user: string; password: string }> {
  const where = `${d.workload.kind} ${d.namespace}/${d.workload.metadata.name}`;
  const spec = d.workload.template.spec;
  const { user, passwordVars } = superuserVars(
    d.flavour,
    await appUserOf(cluster, d.namespace, spec, d.container, d.flavour),
  );
  if (d.superuserSecret) {
    const { name, key } = d.superuserSecret;
    const password = await cluster.readSecretKey(d.namespace, name, key);
    if (password === undefined)
      throw new CliError(
        `--superuser-secret ${name}/${key}: Secret ${d.namespace}/${name} does not exist or has no key ${key}`,
        ExitCode.usage,
      );
    d.superuser = { user, env: '--superuser-secret', secret: { name, key }, via: '--superuser-secret' };
    return { user, password };
  }
  const looked: string[] = [];
  for (const env of passwordVars) {
    for (const s of varSources(spec, d.container, env)) {
      if (s.kind === 'refused') throw new CliError(`${where}: container ${d.container.name}: ${s.via}`, ExitCode.usage);
      if (s.kind === 'value' && d.readsInlinePassword) {
        d.superuser = { user, env, literal: true, via: s.via };
        return { user, password: s.value };
      }
      if (s.kind === 'value') {
        throw new CliError(
          `${where}: ${env} is written in the manifest; move it to a Secret (secretKeyRef), or pass --superuser-secret <secret>/<key>, ` +
            'so that check can use it without copying it',
          ExitCode.usage,
        );
      }
      const password = await readSource(cluster, d.namespace, s);
      if (password !== undefined && s.kind !== 'unreadable') {
        d.superuser = {
          user,
          env,
          ...(s.kind === 'secret' ? { secret: { name: s.name, key: s.key } } : {}),
          via: s.via,
        } as SuperuserSource;
        return { user, password };
      }
      looked.push(missed(s));
    }
  }
  throw new CliError(
    `${where}: cannot find the password of the superuser ${user}: container ${d.container.name} sets none of ${passwordVars.flatMap((v) => [v, `${v}_FILE`]).join(', ')}` +
      `${looked.length ? ` where it can be read (${looked.join('; ')})` : ''}. Pass --superuser-secret <secret>/<key>: the Secret in namespace ${d.namespace} and the key ` +
      `that hold ${user}'s password`,
    ExitCode.usage,
  );
}
