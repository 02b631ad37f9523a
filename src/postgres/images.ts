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
  if (registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io')
    registry = undefined;
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
 * Bitnami's free catalog changed in August 2025: `bitnami/postgresql:<major>` tags are no longer published, and the
 * tags that existed moved, frozen, to `bitnamilegacy/postgresql`. The default target of a Bitnami source is
 * therefore a tag that was published there, per major: the newest that public deployments are seen pulling from
 * bitnamilegacy since the move. There is no free Bitnami image of 18: such a target needs --image.
 */
export const BITNAMI_LEGACY_TAGS: Readonly<Record<number, string>> = {
  12: '12.20.0-debian-12-r26',
  13: '13.18.0-debian-12-r2',
  14: '14.18.0-debian-12-r0',
  15: '15.10.0-debian-12-r2',
  16: '16.6.0-debian-12-r2',
  17: '17.6.0-debian-12-r4',
};

/** Is this Bitnami's own PostgreSQL image (bitnami/ or bitnamilegacy/), whose free tags are frozen? */
export function isBitnamiRepo(ref: string): boolean {
  const { repo } = parseImageRef(ref);
  return repo === 'bitnami/postgresql' || repo === 'bitnamilegacy/postgresql';
}

/**
 * The image that runs `to` for a workload now running `current`: the official image's bare major tag in the same
 * registry (`<to>-alpine` for an Alpine tag, which keeps the C library); for Bitnami's image, `bitnamilegacy/postgresql` at the frozen tag of that major (undefined when
 * Bitnami published none, as for 18); undefined for a vendor's image, for which the user must name the image.
 */
export function targetImageFor(current: string, to: number): string | undefined {
  const r = parseImageRef(current);
  if (!KNOWN_REPOS.includes(r.repo)) return undefined;
  const registry = r.registry ? `${r.registry}/` : '';
  // An Alpine tag stays Alpine: musl and glibc sort text differently (src/postgres/libc.ts).
  if (r.repo === 'postgres') return `${registry}postgres:${to}${/(^|[-.])alpine/.test(r.tag ?? '') ? '-alpine' : ''}`;
  const tag = BITNAMI_LEGACY_TAGS[to];
  return tag ? `${registry}bitnamilegacy/postgresql:${tag}` : undefined;
}

/** Why a Bitnami source's target is a frozen image (a warning), or, when none exists for `to`, what to do instead. */
export function bitnamiTargetNote(
  current: string,
  to: number,
): { image?: string; note: string; fix: string } | undefined {
  if (!isBitnamiRepo(current)) return undefined;
  const image = targetImageFor(current, to);
  const leave =
    'or leave Bitnami for the official image with --method dump --target-image postgres:<major> (a new instance in the official layout, UID 999)';
  if (!image) {
    return {
      note:
        `Bitnami publishes no free image of PostgreSQL ${to}: bitnami/postgresql tags stopped in August 2025, and bitnamilegacy/postgresql ` +
        `is frozen at ${Math.max(...Object.keys(BITNAMI_LEGACY_TAGS).map(Number))}`,
      fix: `pass --image <a Bitnami-layout image of ${to} that your nodes can pull> to upgrade, or --to ${Math.max(...Object.keys(BITNAMI_LEGACY_TAGS).map(Number))}, ${leave}`,
    };
  }
  return {
    image,
    note:
      `the target image is ${image}: Bitnami stopped publishing bitnami/postgresql tags in August 2025, and bitnamilegacy/postgresql is ` +
      'a frozen copy that gets no updates, security fixes included',
    fix: `pass --image to upgrade to choose a maintained image of your own, ${leave}`,
  };
}

/**
 * The default image of the in-place upgrade Job: tianon's, which carries both majors. It is published for the
 * pairs at most five majors apart (10-to-15 … 13-to-18; github.com/tianon/docker-postgres-upgrade), so a wider
 * jump has no default: undefined, and the caller says what to do instead.
 */
export function upgradeImageFor(from: number, to: number): string | undefined {
  return from >= 10 && to > from && to - from <= MAX_TIANON_SPAN && to <= 18
    ? `tianon/postgres-upgrade:${from}-to-${to}`
    : undefined;
}

const MAX_TIANON_SPAN = 5;

/** What to do when no published upgrade image carries both majors. */
export function noUpgradeImageAdvice(from: number, to: number): string {
  const via = Math.min(from + MAX_TIANON_SPAN, to - 1);
  return (
    `no published tianon/postgres-upgrade image upgrades ${from} to ${to} (its tags span at most ${MAX_TIANON_SPAN} majors). ` +
    `Upgrade in two steps (--to ${via}, then --to ${to}), or pass --job-image with an image that holds both majors' binaries at ` +
    `/usr/lib/postgresql/<major>/bin, or use --method dump`
  );
}
