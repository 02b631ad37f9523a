import { managersOfAll } from '../postgres/gitops.ts';
import { describeManager } from '../postgres/gitops-refusal.ts';
import { withReadings, type OwnerReading } from '../postgres/gitops-pause.ts';
import type { Finding } from '../postgres/rules.ts';
import type { Evidence } from './finding.ts';

const TITLE = 'No controller reverts the image';

/**
 * Argo CD or Flux on the database or its applications (upgrade refuses them unless paused); Helm and other field
 * managers noted. Judged as upgrade judges them: an Application, Kustomization or HelmRelease that could be read
 * and does not heal (no selfHeal, suspended) is no reason to refuse, and is not reported as one. Pure.
 */
export function managedBy(e: Pick<Evidence, 'd'>, readings: OwnerReading[] = []): Finding {
  const ns = e.d.namespace;
  const all = withReadings(managersOfAll([e.d.workload, ...e.d.apps]), readings, ns);
  const healing = all.filter((m) => m.heals);
  if (healing.length) {
    return {
      id: 'managed-by',
      title: TITLE,
      status: 'warn',
      found:
        `${healing.map((m) => describeManager(m, ns)).join('; ')}: it would scale the database or ` +
        'its applications back up while they are down, or put the old image back; upgrade refuses until it is paused',
      fix: 'pause it (the command above), then upgrade with --gitops-paused; or upgrade with --pause-gitops: the plugin pauses and resumes it',
    };
  }
  return e.d.managers.length
    ? {
        id: 'managed-by',
        title: TITLE,
        status: 'warn',
        found: `managed by ${e.d.managers.join(', ')}: a sync would put the old image back`,
        fix: 'pause syncing (Argo CD/Flux), or change the image in the chart values right after the upgrade',
      }
    : { id: 'managed-by', title: TITLE, status: 'pass', found: 'no Helm, Argo CD or Flux markers' };
}
