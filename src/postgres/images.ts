/** The image repositories whose tags name the PostgreSQL major, so the plugin can pick the same repo's target. */
const KNOWN_REPOS = ['postgres', 'bitnami/postgresql', 'bitnamilegacy/postgresql'];

/** A parsed image reference. */
export interface ImageRef {
  registry?: string;
  repo: string;
  tag?: string;
  digest?: string;
}

/** Splits `[registry/]repo[:tag][@digest]`; Docker Hub's `docker.io/library/` is folded away. */
export function parseImageRef(ref: string): ImageRef {
  const [nameTag, digest] = ref.split('@') as [string, string | undefined];
  const slash = nameTag.indexOf('/');
  const first = slash > 0 ? nameTag.slice(0, slash) : '';
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  let rest = hasRegistry ? nameTag.slice(slash + 1) : nameTag;
  let registry = hasRegistry ? first : undefined;
  if (registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = undefined;
  if (rest.startsWith('library/')) rest = rest.slice('library/'.length);
  const colon = rest.lastIndexOf(':');
  return colon > 0
    ? { registry, repo: rest.slice(0, colon), tag: rest.slice(colon + 1), digest }
    : { registry, repo: rest, digest };
}

/** Is this a repository whose image we can re-tag to another major? */
export function isKnownRepo(ref: string): boolean {
  return KNOWN_REPOS.includes(parseImageRef(ref).repo);
}

/**
 * The image that runs `to` for a workload now running `current`: the same registry and repository at the target
 * major (the official image's bare major tag, Bitnami's `<major>` tag), or undefined for a vendor's image, for
 * which the user must name the image.
 */
export function targetImageFor(current: string, to: number): string | undefined {
  const r = parseImageRef(current);
  if (!KNOWN_REPOS.includes(r.repo)) return undefined;
  return `${r.registry ? `${r.registry}/` : ''}${r.repo}:${to}`;
}

/** The default image of the in-place upgrade Job: tianon's, which carries both majors. */
export function upgradeImageFor(from: number, to: number): string {
  return `tianon/postgres-upgrade:${from}-to-${to}`;
}
