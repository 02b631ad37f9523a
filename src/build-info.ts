// Replaced by esbuild at build time (scripts/build.ts); running from source reports "dev".
declare const __PGUPGRADE_VERSION__: string | undefined;
declare const __PGUPGRADE_COMMIT__: string | undefined;

/** What this binary is: the plugin version, the commit it was built from and the Node it embeds. */
export interface BuildInfo {
  version: string;
  commit: string;
  node: string;
}

/** Reads the build-time constants; no I/O. */
export function buildInfo(): BuildInfo {
  return {
    version: typeof __PGUPGRADE_VERSION__ === 'string' ? __PGUPGRADE_VERSION__ : '0.0.0-dev',
    commit: typeof __PGUPGRADE_COMMIT__ === 'string' ? __PGUPGRADE_COMMIT__ : 'unknown',
    node: process.version,
  };
}
