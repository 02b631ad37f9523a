import type { Pod } from '../../k8s/cluster.ts';
import type { CleanupPlan } from './plan.ts';

const finished = (p: Pod) => p.phase === 'Succeeded' || p.phase === 'Failed';
const ours = (p: Pod) => p.metadata.labels?.['app.kubernetes.io/managed-by'] === 'kubectl-pgupgrade';

/** The pods that mount PVC `pvc`, but for the plugin's own that have finished (cleanup deletes them before any PVC). Pure. */
export function podsMounting(pvc: string, pods: Pod[]): string[] {
  return pods
    .filter(
      (p) =>
        !(finished(p) && ours(p)) && (p.spec.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === pvc),
    )
    .map((p) => `${p.metadata.name} (${p.phase})`);
}

/**
 * Why cleanup must not delete the PVCs its plan removes, or undefined: some pod mounts one of them (the user's, a
 * debug pod, an application pointed at it by hand). Checked before anything is removed, and again before each PVC.
 */
export function mountedPvcProblem(
  plan: CleanupPlan,
  pods: Pod[],
  ns: string,
  untouched = 'nothing was deleted',
): string | undefined {
  const mounted = plan.remove
    .filter((i) => i.kind === 'PersistentVolumeClaim')
    .map((i) => ({ pvc: i.name, by: podsMounting(i.name, pods) }))
    .filter((m) => m.by.length);
  if (!mounted.length) return undefined;
  const which = mounted.map((m) => `PVC ${ns}/${m.pvc} is mounted by pod ${m.by.join(', pod ')}`).join('; ');
  return (
    `${which}: cleanup does not delete a volume that a pod uses, and ${untouched}. Find out what that pod is doing with it; ` +
    `once it is deleted (kubectl -n ${ns} delete pod <name>), or no longer mounts the PVC, run cleanup again`
  );
}
