import * as fs from 'node:fs';
import { load } from 'js-yaml';
import type { ControlPlane } from './k8s/control-plane.ts';

/** One object by its API resource (plural, lower case) and name; a planned name may hold `<…>` placeholders. */
export interface Made {
  resource: string;
  name: string;
}

/** The objects a --dry-run says it will create: each document's `object`, by resource and name. */
export function plannedCreations(stdout: string): Made[] {
  const docs = stdout.split(/^---$/m).map((d) => load(d) as { object?: { kind: string; metadata: { name: string } } });
  return docs.flatMap((d) =>
    d?.object ? [{ resource: `${d.object.kind.toLowerCase()}s`, name: d.object.metadata.name }] : [],
  );
}

interface AuditEvent {
  stage: string;
  verb: string;
  userAgent?: string;
  requestReceivedTimestamp: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
}

/**
 * The objects the plugin's binary created in `ns` since `since`, read from the apiserver's audit log: creations that
 * succeeded, not subresources (exec), not by kubectl (the tests), the controllers or the node agent.
 */
export function auditedCreations(cp: ControlPlane, ns: string, since: Date, byAgent: RegExp): Made[] {
  const out: Made[] = [];
  for (const line of fs.readFileSync(cp.auditLog, 'utf8').split('\n')) {
    if (!line.includes('"create"') || !line.includes(ns)) continue;
    const e = JSON.parse(line) as AuditEvent;
    const ref = e.objectRef;
    if (e.stage !== 'ResponseComplete' || e.verb !== 'create' || ref?.namespace !== ns || ref.subresource) continue;
    if ((e.responseStatus?.code ?? 500) >= 300 || new Date(e.requestReceivedTimestamp) < since) continue;
    if (!byAgent.test(e.userAgent ?? '')) continue;
    out.push({ resource: ref.resource ?? '', name: ref.name ?? '' });
  }
  return out;
}

/** `planned` and `created` as sorted lines, a planned `<…>` matching any run of name characters. */
export function planDrift(planned: Made[], created: Made[]): { unplanned: string[]; missing: string[] } {
  const key = (m: Made) => `${m.resource}/${m.name}`;
  const pattern = (m: Made) =>
    new RegExp(
      `^${key(m)
        .replace(/<[^>]*>/g, '\u0000')
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\u0000/g, '[a-z0-9.-]+')}$`,
    );
  const patterns = planned.map((p) => ({ p, re: pattern(p) }));
  const unplanned = created.filter((c) => !patterns.some(({ re }) => re.test(key(c)))).map(key);
  const missing = patterns.filter(({ re }) => !created.some((c) => re.test(key(c)))).map(({ p }) => key(p));
  return { unplanned: [...new Set(unplanned)].sort(), missing: missing.sort() };
}

/** The binary's requests as the apiserver's audit log names their client (kubectl, the controllers and the node agent have their own). */
export const PLUGIN_AGENT = /^kubernetes-client-javascript\//;
