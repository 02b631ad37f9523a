import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SandboxSpec } from './bwrap.ts';
import type { ImageSpec } from './images.ts';

const SCRIPTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'entrypoints');

/** Where the image's own scripts sit inside it; each maps to a file in entrypoints/. */
const IMAGE_SCRIPTS: Record<ImageSpec['flavour'], Array<[string, string]>> = {
  postgres: [['docker-entrypoint.sh', '/usr/local/bin/docker-entrypoint.sh']],
  bitnami: [
    ['bitnami-entrypoint.sh', '/opt/bitnami/scripts/postgresql/entrypoint.sh'],
    ['bitnami-run.sh', '/opt/bitnami/scripts/postgresql/run.sh'],
  ],
  upgrade: [['docker-upgrade', '/usr/local/bin/docker-upgrade']],
  shell: [],
};

/** The image's own scripts: [file in entrypoints/, path in the image]. */
export function imageScripts(image: ImageSpec): Array<[string, string]> {
  return IMAGE_SCRIPTS[image.flavour];
}

/**
 * bwrap arguments for the image's /usr/local/bin: only its scripts (the host's would not be in the image) and,
 * for the alpine layout, its PostgreSQL binaries, as links into the major's tree (PostgreSQL resolves its own
 * link, so it finds its libraries and share files there).
 */
export function imageScriptArgs(spec: SandboxSpec): string[] {
  const a: string[] = [];
  const scripts = imageScripts(spec.image);
  if (scripts.some(([, t]) => t.startsWith('/usr/local/bin/'))) a.push('--tmpfs', '/usr/local/bin');
  for (const [file, target] of scripts) a.push('--ro-bind', path.join(SCRIPTS, file), target);
  const major = spec.image.majors[0];
  if (spec.image.layout === 'alpine' && major !== undefined) {
    const bin = `/usr/lib/postgresql/${major}/bin`;
    const install = spec.installs.find((i) => i.major === major);
    for (const b of install ? fs.readdirSync(path.join(install.libDir, 'bin')) : [])
      a.push('--symlink', `${bin}/${b}`, `/usr/local/bin/${b}`);
  }
  return a;
}

/** Directories the image has beyond the PostgreSQL binaries: Bitnami's /opt tree, the official data dirs. */
export function imageLayout(spec: SandboxSpec): string[] {
  const a: string[] = [];
  const major = spec.image.majors[0];
  if (spec.image.flavour === 'bitnami' && major !== undefined) {
    const lib = `/usr/lib/postgresql/${major}`;
    const conf = path.join(spec.scratchDir, 'bitnami-conf');
    const tmp = path.join(spec.scratchDir, 'bitnami-tmp');
    for (const d of [conf, tmp]) {
      fs.mkdirSync(d, { recursive: true });
      fs.chownSync(d, spec.uid, spec.gid);
    }
    a.push(
      '--ro-bind',
      `${spec.installs.find((i) => i.major === major)!.libDir}/bin`,
      '/opt/bitnami/postgresql/bin',
      '--symlink',
      `${lib}/lib`,
      '/opt/bitnami/postgresql/lib',
      '--symlink',
      `/usr/share/postgresql/${major}`,
      '/opt/bitnami/postgresql/share',
      '--bind',
      conf,
      '/opt/bitnami/postgresql/conf',
      '--bind',
      tmp,
      '/opt/bitnami/postgresql/tmp',
      '--perms',
      '0775',
      '--dir',
      '/bitnami',
      '--perms',
      '0775',
      '--dir',
      '/docker-entrypoint-initdb.d',
    );
  }
  if (spec.image.flavour === 'postgres' || spec.image.flavour === 'upgrade') {
    a.push(
      '--perms',
      '0777',
      '--dir',
      '/var/lib/postgresql',
      '--perms',
      '0777',
      '--dir',
      '/docker-entrypoint-initdb.d',
    );
  }
  return a;
}
