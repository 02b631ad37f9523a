// The evidence check gathers, and how a finding is made of it.
import type { OwnerReading } from '../postgres/gitops-pause.ts';
import type { DatabaseFacts, ServerFacts } from '../postgres/facts.ts';
import type { ControlData, VolumeFacts } from '../postgres/volume-facts.ts';
import type { Finding } from '../postgres/rules.ts';
import type { Method } from '../postgres/versions.ts';
import type { Permission } from '../rbac-rules.ts';
import type { SourceDiscovery } from '../discovery/discover.ts';

/** Everything check learnt, ready to be judged. */
export interface Evidence {
  d: SourceDiscovery;
  to: number;
  method: Method;
  targetImage: string;
  /** The image the workload will run after the upgrade (--image, else the default for its repository); undefined: unknown. */
  serverImage?: string;
  targetIsStock: boolean;
  access: Array<{ permission: Permission; allowed: boolean }>;
  snapshotDrivers?: string[];
  server?: ServerFacts;
  databases?: Map<string, DatabaseFacts>;
  credentialsError?: string;
  /** --method dump: pg_hba.conf refuses the superuser over the pod's address (the load's way in). */
  remoteLoginError?: string;
  /** The Argo CD/Flux objects behind the markers, as read (check judges them as upgrade does). */
  ownerReadings?: OwnerReading[];
  volume?: VolumeFacts;
  pathProblem?: string;
  /** No published image carries both majors, and none was named. */
  imageProblem?: string;
  /** The image the workload will run (upgrade's --image); undefined: the default for its repository. */
  workloadImage?: string;
  /** Offline: the database is stopped and a probe pod read its volume. */
  offline?: {
    probe: string;
    image: string;
    controlData?: ControlData;
    serverError?: string;
    pgUpgradeCheck?: { ok: boolean; output: string };
  };
}

/** A finding: its id, title, status, what was found and, where there is one, the fix. */
export const f = (id: string, title: string, status: Finding['status'], found: string, fix?: string): Finding => ({
  id,
  title,
  status,
  found,
  ...(fix ? { fix } : {}),
});
