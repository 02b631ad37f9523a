import { CHECK, CLEANUP, CLEANUP_DUMP, SNAPSHOT, VALIDATE, type Permission } from './rbac-rules.ts';
import { GITOPS, UPGRADE_DUMP, UPGRADE_IN_PLACE } from './rbac-upgrade-rules.ts';

/**
 * What each shipped command needs from RBAC. The krew caveats and docs/rbac.md are generated from this table,
 * and commands that check access ask the apiserver for exactly these, so the three never disagree.
 */
export const PERMISSIONS: Record<string, Permission[]> = {
  // /version is readable by every authenticated (and, by default, anonymous) user: system:public-info-viewer.
  version: [],
  completion: [],
  check: CHECK,
  snapshot: SNAPSHOT,
  // --method dump needs more than an in-place upgrade: the command's permissions are the dump method's.
  upgrade: [...UPGRADE_DUMP, ...GITOPS],
  validate: VALIDATE,
  cleanup: [...CLEANUP, ...CLEANUP_DUMP],
};

/** What cleanup asks the apiserver for: after an upgrade by dump, the deletes of instances too. */
export function cleanupPermissions(byDump: boolean): Permission[] {
  return byDump ? [...CLEANUP, ...CLEANUP_DUMP] : CLEANUP;
}

/**
 * The permissions that an upgrade by `method` will need (check's own included); check asks for them before any
 * downtime, so that an upgrade never stops halfway on a 403.
 */
export function permissionsForMethod(method: string): Permission[] {
  return method === 'dump' ? UPGRADE_DUMP : UPGRADE_IN_PLACE;
}

/** `verb group/resource[/sub]` lines for people, one per permission, without duplicates. */
export function describePermissions(perms: Permission[]): string[] {
  const lines = perms.map((p) => {
    const res = (p.group ? `${p.group}/` : '') + p.resource + (p.subresource ? `/${p.subresource}` : '');
    return `${p.verb} ${res}${p.clusterScoped ? ' (cluster-wide)' : ''}`;
  });
  return [...new Set(lines)];
}
