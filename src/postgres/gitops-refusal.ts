/**
 * What the plugin says of a workload's managers (src/postgres/gitops.ts): how to pause each, the refusal when one
 * heals drift, and the notes on those that do not. Pure.
 */
import type { Manager } from './gitops.ts';

/** The command that stops a manager from healing, or undefined when there is none to give. */
export function pauseCommand(m: Manager, workloadNs: string): string | undefined {
  if (m.tool === 'Argo CD') {
    const ns = m.namespace ?? 'argocd';
    return (
      `kubectl patch application ${m.name} -n ${ns} --type merge -p '{"spec":{"syncPolicy":{"automated":null}}}' ` +
      `(or: argocd app set ${m.namespace ? `${m.namespace}/` : ''}${m.name} --sync-policy none)`
    );
  }
  if (m.tool === 'Flux') {
    const kind = m.what.startsWith('HelmRelease') ? 'helmrelease' : 'kustomization';
    return `flux suspend ${kind} ${m.name} -n ${m.namespace ?? workloadNs}`;
  }
  return undefined;
}

/** One line per manager: what it is, which object, what gave it away, and how to pause it. */
export function describeManager(m: Manager, workloadNs: string): string {
  const pause = pauseCommand(m, workloadNs);
  const where = m.namespace ? ` (namespace ${m.namespace})` : '';
  return (
    `${m.tool === 'field manager' ? m.what : `${m.tool} ${m.what}`}${where} manages ${m.object} (${m.evidence})` +
    (pause ? `; pause it: ${pause}` : '')
  );
}

/**
 * The refusal before any downtime when a controller that heals manages the database or its applications: it would
 * scale them back up beside the upgrade, or put the old image back. Undefined when none does or the user says they
 * are paused (`--gitops-paused`).
 */
export function gitopsRefusal(managers: Manager[], workloadNs: string, paused: boolean): string | undefined {
  const healing = managers.filter((m) => m.heals);
  if (!healing.length || paused) return undefined;
  return (
    `a controller that heals drift manages what the upgrade stops or changes; it would scale it back up while the database is down, put the old image back, or point a Service back:\n` +
    healing.map((m) => `  ${describeManager(m, workloadNs)}`).join('\n') +
    `\nPause it, then run again with --gitops-paused (and resume it after the upgrade, with the new image in Git)` +
    '; or run again with --pause-gitops: the plugin pauses it, and resumes it as it was when the upgrade ends or is rolled back' +
    '; nothing was changed'
  );
}

/** Managers worth a note that do not self-heal (Helm: its next upgrade reverts the image; other field managers). */
export function managerNotes(managers: Manager[], workloadNs: string): string[] {
  return managers.filter((m) => !m.heals).map((m) => describeManager(m, workloadNs));
}
