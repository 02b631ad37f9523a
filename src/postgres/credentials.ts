import type { Container, PodSpec } from '../k8s/pod-spec.ts';
import type { Flavour } from './workload.ts';
import { expandedSources, expands } from './env-expansion.ts';

/** Where a value of the container's environment comes from, as far as the pod spec tells. */
export type ValueSource =
  | { kind: 'value'; value: string; via: string }
  | { kind: 'secret'; name: string; key: string; via: string }
  | { kind: 'configMap'; name: string; key: string; via: string }
  | { kind: 'unreadable'; via: string }
  /** The kubelet's `$(VAR)` expansion makes a value that cannot be read as it would be (src/postgres/env-expansion.ts); `via` says why. */
  | { kind: 'refused'; via: string };

/**
 * The sources of env var `name`, strongest first, as the kubelet builds the environment: an `env` entry (the last
 * of that name) wins over `envFrom`, and among `envFrom` the later source wins. envFrom names no keys, so each of
 * its Secrets and ConfigMaps is a candidate until read.
 */
export function envSources(c: Container, name: string): ValueSource[] {
  return sourcesBefore(c, name, (c.env ?? []).length);
}

/** The sources of `name` as the kubelet had it when it reached env entry `before`: an earlier entry, else envFrom. */
function sourcesBefore(c: Container, name: string, before: number): ValueSource[] {
  const i = (c.env ?? [])
    .slice(0, before)
    .map((x) => x.name)
    .lastIndexOf(name);
  const e = c.env?.[i];
  if (e) {
    if (e.value !== undefined) {
      return expands(e.value)
        ? expandedSources(name, e.value, (ref) => sourcesBefore(c, ref, i))
        : [{ kind: 'value', value: e.value, via: `env ${name}` }];
    }
    const s = e.valueFrom?.secretKeyRef;
    if (s) return [{ kind: 'secret', name: s.name, key: s.key, via: `env ${name} (secretKeyRef)` }];
    const m = e.valueFrom?.configMapKeyRef;
    if (m) return [{ kind: 'configMap', name: m.name, key: m.key, via: `env ${name} (configMapKeyRef)` }];
    return [{ kind: 'unreadable', via: `env ${name} comes from a field or resource, not a Secret` }];
  }
  return [...(c.envFrom ?? [])].reverse().flatMap((f): ValueSource[] => {
    const prefix = f.prefix ?? '';
    if (!name.startsWith(prefix)) return [];
    const key = name.slice(prefix.length);
    if (f.secretRef)
      return [
        { kind: 'secret', name: f.secretRef.name, key, via: `${name} through envFrom of Secret ${f.secretRef.name}` },
      ];
    if (f.configMapRef)
      return [
        {
          kind: 'configMap',
          name: f.configMapRef.name,
          key,
          via: `${name} through envFrom of ConfigMap ${f.configMapRef.name}`,
        },
      ];
    return [];
  });
}

/** The Secret keys that may be the file at `path` in the container: a Secret volume's, or a projected volume's Secrets'. */
export function fileSources(spec: PodSpec, c: Container, path: string, env: string): ValueSource[] {
  const mounts = (c.volumeMounts ?? []).filter(
    (m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
  );
  const m = mounts.sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  const where = `${env}=${path}`;
  if (!m) return [{ kind: 'unreadable', via: `${where}: no volume is mounted there` }];
  const rest = path === m.mountPath ? '' : path.slice(m.mountPath.replace(/\/$/, '').length + 1);
  const rel = [m.subPath, rest].filter(Boolean).join('/');
  const vol = spec.volumes?.find((v) => v.name === m.name);
  const secrets = vol?.secret?.secretName
    ? [{ name: vol.secret.secretName, items: vol.secret.items }]
    : (vol?.projected?.sources ?? []).flatMap((s) =>
        s.secret ? [{ name: s.secret.name, items: s.secret.items }] : [],
      );
  const found = secrets.flatMap((s): ValueSource[] => {
    const key = s.items ? s.items.find((i) => i.path === rel)?.key : rel;
    return key
      ? [
          {
            kind: 'secret',
            name: s.name,
            key,
            via: `${where} (key ${key} of Secret ${s.name}, mounted from volume ${m.name})`,
          },
        ]
      : [];
  });
  return found.length
    ? found
    : [
        {
          kind: 'unreadable',
          via: `${where} is on volume ${m.name}, which holds no Secret key at ${rel || 'its root'}`,
        },
      ];
}

/**
 * The sources of a variable that the images also read from the file that `<name>_FILE` names (the official
 * entrypoint's file_env, Bitnami's `*_FILE`), the file first: Bitnami lets it win, the official image refuses both.
 */
export function varSources(spec: PodSpec, c: Container, name: string): ValueSource[] {
  const file = envSources(c, `${name}_FILE`).flatMap((s): ValueSource[] =>
    s.kind === 'value'
      ? fileSources(spec, c, s.value, `${name}_FILE`)
      : s.kind === 'unreadable' || s.kind === 'refused'
        ? [s]
        : [{ kind: 'unreadable', via: `${name}_FILE: the file's path comes from ${s.via}` }],
  );
  return [...file, ...envSources(c, name)];
}

/** The variables that name the user an image family creates at initdb. */
export function userVars(flavour: Flavour): string[] {
  return flavour === 'bitnami' ? ['POSTGRES_USER', 'POSTGRESQL_USERNAME'] : ['POSTGRES_USER'];
}

/**
 * The superuser, and the variables that carry its password, given the user the image was told to create. The
 * official image makes POSTGRES_USER the superuser (`kong`, say), with POSTGRES_PASSWORD. Bitnami's superuser is
 * always postgres: with an app user beside it, its password is POSTGRES_POSTGRES_PASSWORD (POSTGRES_PASSWORD is
 * the app user's), else POSTGRES_PASSWORD.
 */
export function superuserVars(flavour: Flavour, appUser: string | undefined): { user: string; passwordVars: string[] } {
  if (flavour !== 'bitnami') return { user: appUser || 'postgres', passwordVars: ['POSTGRES_PASSWORD'] };
  const custom = !!appUser && appUser !== 'postgres';
  return {
    user: 'postgres',
    passwordVars: custom
      ? ['POSTGRES_POSTGRES_PASSWORD', 'POSTGRESQL_POSTGRES_PASSWORD']
      : ['POSTGRES_PASSWORD', 'POSTGRESQL_PASSWORD'],
  };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

/** `--superuser-secret name/key`: the Secret and key that hold the superuser's password. */
export function parseSecretKeyRef(arg: string): { name: string; key: string } {
  const [name = '', key = '', ...more] = arg.split('/');
  if (more.length || !DNS_SUBDOMAIN.test(name) || !SECRET_KEY.test(key)) {
    throw new Error(
      `--superuser-secret ${JSON.stringify(arg)}: expected <secret name>/<key>, e.g. postgresql/postgres-password ` +
        "(a Secret in the database's namespace, and the key that holds the superuser's password)",
    );
  }
  return { name, key };
}

/** Where the superuser's password comes from. */
export interface SuperuserSource {
  user: string;
  env: string;
  secret?: { name: string; key: string };
  /** The password is written in the manifest itself. */
  literal?: boolean;
  /** How the Secret reaches the container, for the report: `env …`, `… through envFrom of Secret …`, `…_FILE=…`. */
  via?: string;
}

/**
 * The superuser and where its password comes from, as far as the pod spec tells: the first source of the first
 * variable the image reads. `appUser` is the user the image creates when discovery could read it (from a Secret,
 * envFrom, a file); envFrom candidates are settled when the password is read (src/discovery/credentials.ts).
 */
export function superuserOf(
  spec: PodSpec,
  c: Container,
  flavour: Flavour,
  appUser?: string,
): SuperuserSource | undefined {
  const literal = userVars(flavour)
    .map((v) => envSources(c, v)[0])
    .find((s) => s?.kind === 'value');
  const { user, passwordVars } = superuserVars(
    flavour,
    appUser ?? (literal?.kind === 'value' ? literal.value : undefined),
  );
  for (const env of passwordVars) {
    const s = varSources(spec, c, env).find((x) => x.kind !== 'unreadable');
    if (s?.kind === 'refused') return undefined;
    if (s?.kind === 'secret') return { user, env, secret: { name: s.name, key: s.key }, via: s.via };
    if (s?.kind === 'value') return { user, env, literal: true, via: s.via };
  }
  return undefined;
}

/** The server's message says pg_hba.conf turned the connection away (no matching line, or a `reject` line): no password matter. */
export function isHbaRefusal(message: string): boolean {
  return /no pg_hba\.conf entry for host|pg_hba\.conf rejects connection/.test(message);
}
