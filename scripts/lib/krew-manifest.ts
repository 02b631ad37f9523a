import { dump } from 'js-yaml';

/** One platform's archive, as built by scripts/package.ts. */
export interface PlatformArchive {
  os: string;
  arch: string;
  uri: string;
  sha256: string;
}

/** What the manifest says about the plugin. */
export interface PluginMeta {
  version: string;
  homepage: string;
  shortDescription: string;
  description: string;
  caveats: string;
}

/**
 * The krew plugin manifest (krew.googlecontainertools.github.com/v1alpha2) for the given archives. Each archive
 * holds the binary and LICENSE at its top level; krew links `kubectl-pgupgrade` onto PATH as `kubectl pgupgrade`.
 */
export function buildKrewManifest(meta: PluginMeta, archives: PlatformArchive[]): string {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(meta.version)) {
    throw new Error(`version ${meta.version} is not semver; krew wants vMAJOR.MINOR.PATCH`);
  }
  const manifest = {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'pgupgrade' },
    spec: {
      version: `v${meta.version}`,
      homepage: meta.homepage,
      shortDescription: meta.shortDescription,
      description: meta.description,
      caveats: meta.caveats,
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
  return dump(manifest, { lineWidth: 100, noRefs: true });
}

/** The archive name for a platform: kubectl-pgupgrade_<version>_<os>_<arch>.tar.gz. */
export function archiveName(version: string, os: string, arch: string): string {
  return `kubectl-pgupgrade_${version}_${os}_${arch}.tar.gz`;
}
