/** One permission a command needs, as SelfSubjectAccessReview and a Role rule spell it. */
export interface Permission {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  clusterScoped?: boolean;
}

/**
 * What each shipped command needs from RBAC. The krew caveats and the README are generated from this table,
 * and commands that check access ask the apiserver for exactly these, so the three never disagree.
 */
export const PERMISSIONS: Record<string, Permission[]> = {
  // /version is readable by every authenticated (and, by default, anonymous) user: system:public-info-viewer.
  version: [],
  completion: [],
};

/** `verb group/resource[/sub]` lines for people, one per permission, without duplicates. */
export function describePermissions(perms: Permission[]): string[] {
  const lines = perms.map((p) => {
    const res = (p.group ? `${p.group}/` : '') + p.resource + (p.subresource ? `/${p.subresource}` : '');
    return `${p.verb} ${res}${p.clusterScoped ? ' (cluster-wide)' : ''}`;
  });
  return [...new Set(lines)];
}
