// The cutover of an upgrade by dump, on the Services that lead to the source: the patches that point them at the new
// instance and back, and whether one was moved. Pure.

/** A Service's spec as the cutover reads it. */
export interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: Array<{ name?: string; port: number; targetPort?: number | string; protocol?: string }>;
}

/**
 * The JSON merge patch (`merge`, not `strategic`: that would merge the selectors' keys, and the Service would
 * select both instances' pods, or none) that points a Service at other pods: the old selector's keys removed
 * (null), the new ones set. With `port`, a numeric targetPort becomes that port (the new instance listens on
 * 5432, the source may not have); a named one stays, as the new pods carry the source's port name.
 */
export function serviceSelectorPatch(
  current: ServiceSpec,
  to: Record<string, string>,
  port?: number,
): { spec: Record<string, unknown> } {
  const selector: Record<string, string | null> = Object.fromEntries(
    Object.keys(current.selector ?? {}).map((k) => [k, null]),
  );
  Object.assign(selector, to);
  const numeric =
    port !== undefined && (current.ports ?? []).some((p) => typeof p.targetPort === 'number' && p.targetPort !== port);
  const ports = numeric
    ? (current.ports ?? []).map((p) => (typeof p.targetPort === 'number' ? { ...p, targetPort: port } : p))
    : undefined;
  return { spec: { selector, ...(ports ? { ports } : {}) } };
}

/** The rollback's patch: the Service's recorded selector and ports, whatever the cutover made of them. */
export function serviceRestorePatch(current: ServiceSpec, recorded: ServiceSpec): { spec: Record<string, unknown> } {
  const { spec } = serviceSelectorPatch(current, recorded.selector ?? {});
  return { spec: { ...spec, ...(recorded.ports ? { ports: recorded.ports } : {}) } };
}

/**
 * Whether a Service no longer leads where it did before the upgrade (its selector or ports differ from the
 * recorded ones): a cutover that stopped half-way (one Service patched, the plugin killed before the next, or a
 * patch that failed) is undone as well as a whole one.
 */
export function serviceMoved(current: ServiceSpec | undefined, recorded: ServiceSpec): boolean {
  if (!current) return false;
  return (
    !same(sorted(current.selector), sorted(recorded.selector)) ||
    (recorded.ports !== undefined && !same(current.ports, recorded.ports))
  );
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
const sorted = (o: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(o ?? {}).sort(([a], [b]) => a.localeCompare(b)));

/**
 * Whether a Service leads where the cutover pointed it (its selector is exactly the new instance's): only such a
 * Service is the rollback's to put back. One that someone pointed elsewhere since is theirs, and is left alone.
 */
export function serviceAtCutover(current: ServiceSpec | undefined, cutoverSelector: Record<string, string>): boolean {
  return current !== undefined && same(sorted(current.selector), sorted(cutoverSelector));
}
