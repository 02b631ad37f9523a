/**
 * What to change in the Git source of the GitOps objects behind a workload (an Argo CD Application, a Flux
 * Kustomization or HelmRelease) after an upgrade or a rollback, so that their next sync does not undo it. Pure.
 */
import { ownerKey, type OwnerRef, type PausedOwner } from './gitops-pause.ts';
import { parseImageRef } from './images.ts';

/** Where an owner keeps the image, in a few words: what to edit in its Git source. */
function whereInGit(o: OwnerRef, container: string, image: string): string {
  const { registry, repo, tag, digest } = parseImageRef(image);
  const name = registry ? `${registry}/${repo}` : repo;
  const version = digest ? `digest "${digest}"` : `tag "${tag ?? 'latest'}"`;
  if (o.kind === 'HelmRelease') {
    return (
      `Flux HelmRelease ${o.namespace}/${o.name}: its spec.values (or the values file it names), image.registry: ${registry ?? 'docker.io'}, ` +
      `image.repository: ${repo}, image.${version.replace(' ', ': ')}`
    );
  }
  if (o.kind === 'Kustomization') {
    return (
      `Flux Kustomization ${o.namespace}/${o.name}: the manifest in its source path, container ${container} image ${image} (or a kustomize images: entry ` +
      `newName ${name}, ${digest ? `digest "${digest}"` : `newTag "${tag ?? 'latest'}"`})`
    );
  }
  return `Argo CD Application ${o.namespace}/${o.name}: the manifest or Helm values of its spec.source, container ${container} image ${image}`;
}

/**
 * The change to make in Git after the upgrade so that the controller, once resumed, keeps the new image (and, with
 * the 18 layout, the claim's new mount and PGDATA): one line per owner, where that owner keeps it.
 */
export function gitChange(
  owners: OwnerRef[],
  workload: string,
  image: string,
  opts: { container: string; relayout?: { fromMount: string; toMount: string; pgdata: string } },
): string | undefined {
  if (!owners.length) return undefined;
  const layout = opts.relayout
    ? `; and in the same change the data's new place: mount the claim at ${opts.relayout.toMount} (it was ${opts.relayout.fromMount}), ` +
      `PGDATA=${opts.relayout.pgdata}`
    : '';
  return (
    `GitOps manages ${workload}: set its image to ${image} in the Git source of ${owners.map(ownerKey).join(', ')}${layout}, or its next sync puts the old image back:\n` +
    owners.map((o) => `  ${whereInGit(o, opts.container, image)}`).join('\n')
  );
}

/**
 * The change to make in Git after an upgrade by dump: the new instance is the plugin's (no marker), the Services now
 * lead to it, the old one is stopped; Git still says the opposite, and its next sync would put the Services back on
 * the old instance and scale it up again.
 */
export function dumpGitChange(
  owners: OwnerRef[],
  change: { source: string; sourceStopped: boolean; target: string; services: string[] },
): string | undefined {
  if (!owners.length) return undefined;
  const steps = [
    `add the new instance to it (kubectl get ${change.target} -o yaml gives its manifest)`,
    ...(change.services.length
      ? [`point Service ${change.services.join(', ')} at the new instance's pods (the selector the cutover set)`]
      : []),
    ...(change.sourceStopped ? [`set ${change.source}'s replicas to 0, or remove it once cleanup has deleted it`] : []),
  ];
  return (
    `GitOps manages ${change.source}: in the Git source of ${owners.map(ownerKey).join(', ')}, ${steps.join('; ')}; ` +
    'until then its next sync puts the old instance back in service'
  );
}

/**
 * What a rollback's confirmation says of the objects the upgrade paused and the rollback resumes: once resumed they
 * apply their Git source again, so a change made there for the upgrade must be undone first. Undefined: none.
 */
export function rollbackResumeNote(
  paused: PausedOwner[] | undefined,
  resumedAt: string | undefined,
): string | undefined {
  if (!paused?.length || resumedAt) return undefined;
  return (
    `Paused by the upgrade, and put back as they were at the end of this rollback: ${paused.map(ownerKey).join(', ')}. They then apply their Git ` +
    'source again: if you changed it for this upgrade (the new image, or the new instance and Services), put it back first, or they undo the rollback.'
  );
}
