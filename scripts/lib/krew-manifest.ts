import { dump } from 'js-yaml';
import { describePermissions, PERMISSIONS } from '../../src/rbac.ts';

/** One platform's archive, as built by scripts/package.ts. */
export interface PlatformArchive {
  os: string;
  arch: string;
  uri: string;
  sha256: string;
}

/** What the manifest says about the plugin, besides its version. */
export interface PluginMeta {
  homepage: string;
  shortDescription: string;
  description: string;
  caveats: string;
}

/** The platforms a release publishes, in the manifest's order. */
export const PLATFORMS = [
  { os: 'linux', arch: 'amd64' },
  { os: 'linux', arch: 'arm64' },
];

/** The archive name for a platform: kubectl-pgupgrade_<version>_<os>_<arch>.tar.gz. */
export function archiveName(version: string, os: string, arch: string): string {
  return `kubectl-pgupgrade_${version}_${os}_${arch}.tar.gz`;
}

/** The manifest's description and caveats, from package.json and the RBAC table of src/rbac.ts. */
export function krewMeta(pkg: { homepage: string; description: string }): PluginMeta {
  const needs = [...new Set(Object.values(PERMISSIONS).flatMap((p) => describePermissions(p)))];
  return {
    homepage: pkg.homepage,
    shortDescription: 'Upgrade PostgreSQL major versions on Kubernetes without an operator',
    description:
      pkg.description +
      '.\nFor Bitnami-chart StatefulSets, official postgres image Deployments and ' +
      'vendor-bundled databases (CircleCI Server, Sentry, GitLab).',
    caveats: needs.length
      ? `This plugin needs these permissions in the database's namespace:\n${needs.map((n) => `  * ${n}`).join('\n')}\n`
      : 'The commands of this release need no RBAC beyond reading the server version.\n',
  };
}

function manifestText(specVersion: string, meta: PluginMeta, archives: PlatformArchive[]): string {
  const manifest = {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'pgupgrade' },
    spec: {
      version: specVersion,
      ...meta,
      platforms: archives.map((a) => ({
        selector: { matchLabels: { os: a.os, arch: a.arch } },
        uri: a.uri,
        sha256: a.sha256,
        bin: 'kubectl-pgupgrade',
        files: [
          { from: 'kubectl-pgupgrade', to: '.' },
          { from: 'LICENSE', to: '.' },
        ],
      })),
    },
  };
  // Sequences unindented: a platform's keys sit at column 4, where krew-release-bot's addURIAndSha puts sha256.
  return dump(manifest, { lineWidth: 100, noRefs: true, seqNoIndent: true });
}

/**
 * The krew plugin manifest (krew.googlecontainertools.github.com/v1alpha2) for the given archives. Each archive
 * holds the binary and LICENSE at its top level; krew links `kubectl-pgupgrade` onto PATH as `kubectl pgupgrade`.
 */
export function buildKrewManifest(version: string, meta: PluginMeta, archives: PlatformArchive[]): string {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    throw new Error(`version ${version} is not semver; krew wants vMAJOR.MINOR.PATCH`);
  }
  return manifestText(`v${version}`, meta, archives);
}

/**
 * The committed krew-manifest.yaml: the same manifest as a krew-release-bot template, whose `{{ .TagName }}` is
 * the release's tag and whose `{{addURIAndSha "<url>" .TagName }}` becomes the asset's `uri` and `sha256`
 * (`{{ .Version }}` in the URL is the tag without its `v`).
 */
export function krewTemplate(meta: PluginMeta): string {
  const marker = (os: string, arch: string) => `@@ASSET-${os}-${arch}@@`;
  const text = manifestText(
    '@@TAG@@',
    meta,
    PLATFORMS.map((p) => ({ ...p, uri: marker(p.os, p.arch), sha256: '@@SHA256@@' })),
  );
  let out = text.replace(/'?@@TAG@@'?/, '{{ .TagName }}');
  for (const p of PLATFORMS) {
    const url = `${meta.homepage}/releases/download/{{ .TagName }}/${archiveName('{{ .Version }}', p.os, p.arch)}`;
    out = out.replace(
      new RegExp(`uri: '?${marker(p.os, p.arch)}'?\\n\\s+sha256: '?@@SHA256@@'?`),
      `{{addURIAndSha "${url}" .TagName }}`,
    );
  }
  if (out.includes('@@')) throw new Error(`krew template: a placeholder was left unreplaced:\n${out}`);
  return out;
}
