/** Looks up Secret and ConfigMap data in the pod's namespace. */
export interface EnvSources {
  secret(name: string): Promise<Record<string, string> | undefined>; // base64 values
  configMap(name: string): Promise<Record<string, string> | undefined>;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

/** Pod facts that fieldRef can ask for. */
export interface PodFacts {
  name: string;
  namespace: string;
  podIP: string;
  nodeName: string;
  serviceAccountName: string;
}

/**
 * A container's environment as the kubelet builds it: envFrom first, then env in order, with `$(VAR)`
 * references to earlier variables expanded. A missing non-optional Secret or key fails the container, as
 * CreateContainerConfigError does.
 */
export async function resolveEnv(
  container: {
    env?: EnvVar[];
    envFrom?: Array<{ secretRef?: { name: string }; configMapRef?: { name: string }; prefix?: string }>;
  },
  src: EnvSources,
  pod: PodFacts,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const isSecret = !!from.secretRef;
    const name = (from.secretRef ?? from.configMapRef)?.name ?? '';
    const data = isSecret ? await src.secret(name) : await src.configMap(name);
    if (!data) throw new Error(`${isSecret ? 'secret' : 'configmap'} "${name}" not found`);
    for (const [k, v] of Object.entries(data))
      out[(from.prefix ?? '') + k] = isSecret ? Buffer.from(v, 'base64').toString() : v;
  }
  for (const e of container.env ?? []) {
    const value = await envValue(e, src, pod);
    if (value !== undefined) out[e.name] = expand(value, out);
  }
  return out;
}

async function envValue(e: EnvVar, src: EnvSources, pod: PodFacts): Promise<string | undefined> {
  if (e.value !== undefined) return e.value;
  const from = e.valueFrom;
  if (!from) return '';
  if (from.fieldRef) return fieldValue(from.fieldRef.fieldPath, pod);
  const ref = from.secretKeyRef ?? from.configMapKeyRef;
  if (!ref) return '';
  const isSecret = !!from.secretKeyRef;
  const data = isSecret ? await src.secret(ref.name) : await src.configMap(ref.name);
  const raw = data?.[ref.key];
  if (raw === undefined) {
    if (ref.optional) return undefined;
    throw new Error(
      `${isSecret ? 'secret' : 'configmap'} "${ref.name}"${data ? ` has no key "${ref.key}"` : ' not found'}`,
    );
  }
  return isSecret ? Buffer.from(raw, 'base64').toString() : raw;
}

function fieldValue(fieldPath: string, pod: PodFacts): string {
  const map: Record<string, string> = {
    'metadata.name': pod.name,
    'metadata.namespace': pod.namespace,
    'status.podIP': pod.podIP,
    'spec.nodeName': pod.nodeName,
    'spec.serviceAccountName': pod.serviceAccountName,
  };
  const v = map[fieldPath];
  if (v === undefined) throw new Error(`fieldRef ${fieldPath} is not supported by the test node agent`);
  return v;
}

/** Kubernetes' $(VAR) expansion: known names expand, $$ escapes, unknown references stay as written. */
export function expand(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && name in vars ? (vars[name] as string) : m;
  });
}
