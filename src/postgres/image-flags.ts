/** The image flags checked before anything happens: each an image reference that a kubelet could pull, of the right majors. */
import { parseImageRef, upgradeImageFor } from './images.ts';

// The grammar of an image reference (github.com/distribution/reference): [domain[:port]/]path[:tag][@digest].
const DOMAIN =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?';
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REFERENCE = new RegExp(
  `^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);

/** Why `ref` is not an image reference that a kubelet could pull, or undefined when it is one. */
export function imageRefProblem(ref: string): string | undefined {
  if (ref.trim() === '') return 'empty';
  if (/\s/.test(ref)) return 'an image reference holds no spaces';
  if (!REFERENCE.test(ref) || ref.split('@')[0]!.replace(/:[^/]*$/, '').length > 255) {
    return 'not an image reference ([registry/]repository[:tag][@sha256:…], repository in lower case)';
  }
  return undefined;
}

/** The majors a tag names: `15`, `15.4-bookworm`, `15.4.0-debian-12-r0` → [15]; `13-to-15` → [13, 15]; else []. */
export function tagMajors(ref: string): number[] {
  const tag = parseImageRef(ref).tag ?? '';
  const pair = /^(\d+)-to-(\d+)$/.exec(tag);
  if (pair) return [Number(pair[1]), Number(pair[2])];
  const one = /^(\d+)(?:$|[.-])/.exec(tag);
  return one ? [Number(one[1])] : [];
}

/**
 * Checks --image and --job-image before anything happens: each must be an image reference, a tag that names a
 * major must name --to (the workload runs --to after the upgrade), and a Job image tagged `<A>-to-<B>` must go to
 * --to (and, once known, from the running major). A wrong image would otherwise fail only after pg_upgrade ran.
 */
export function verifyImageFlags(
  image: string | undefined,
  jobImage: string | undefined,
  to: number,
  from?: number,
): string | undefined {
  for (const [flag, ref] of [
    ['--image', image],
    ['--job-image', jobImage],
  ] as const) {
    const problem = ref === undefined ? undefined : imageRefProblem(ref);
    if (problem) return `${flag} ${JSON.stringify(ref)}: ${problem}`;
  }
  const target = image === undefined ? [] : tagMajors(image);
  if (target.length === 1 && target[0] !== to) {
    return `--image ${image} runs PostgreSQL ${target[0]} (its tag says so), but --to is ${to}: pass the image for ${to}, or --to ${target[0]}`;
  }
  const job = jobImage === undefined ? [] : tagMajors(jobImage);
  if (job.length === 2 && (job[1] !== to || (from !== undefined && job[0] !== from))) {
    return (
      `--job-image ${jobImage} upgrades ${job[0]} to ${job[1]} (its tag says so), but this upgrade goes from ${from ?? 'the running major'} to ${to}: ` +
      `pass an image with both majors, e.g. ${upgradeImageFor(from ?? job[0]!, to) ?? `one tagged ${from ?? job[0]}-to-${to}`}`
    );
  }
  return undefined;
}

const QUANTITY = /^[0-9]+(?:\.[0-9]+)?(?:Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Checks the dump method's flags before anything happens, as verifyImageFlags does for in place: --target-image
 * is an image reference whose tag, when it names a major, names --to; --size is a storage quantity above zero;
 * --storage-class is a StorageClass name. The apiserver would otherwise refuse them only once the applications
 * were down.
 */
export function verifyDumpFlags(f: {
  targetImage?: string;
  size?: string;
  storageClass?: string;
  to: number;
}): string | undefined {
  const problem = f.targetImage === undefined ? undefined : imageRefProblem(f.targetImage);
  if (problem) return `--target-image ${JSON.stringify(f.targetImage)}: ${problem}`;
  const majors = f.targetImage === undefined ? [] : tagMajors(f.targetImage);
  if (majors.length === 1 && majors[0] !== f.to) {
    return `--target-image ${f.targetImage} runs PostgreSQL ${majors[0]} (its tag says so), but --to is ${f.to}: pass the image for ${f.to}, or --to ${majors[0]}`;
  }
  if (majors.length === 2)
    return `--target-image ${f.targetImage} is an upgrade image (its tag names two majors): pass the server image for ${f.to}`;
  if (f.size !== undefined && (!QUANTITY.test(f.size) || !/[1-9]/.test(f.size))) {
    return `--size ${JSON.stringify(f.size)}: not a storage size above zero; give a Kubernetes quantity such as 20Gi or 500Mi`;
  }
  if (f.storageClass !== undefined && !DNS_SUBDOMAIN.test(f.storageClass)) {
    return `--storage-class ${JSON.stringify(f.storageClass)}: not a StorageClass name (lower case letters, digits, '-' and '.'); kubectl get storageclass lists them`;
  }
  return undefined;
}
