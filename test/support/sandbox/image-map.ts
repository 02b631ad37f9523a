import * as fs from 'node:fs';
import * as path from 'node:path';
import { load as loadYaml } from 'js-yaml';

/** The layouts an image can stand for; test/support/sandbox/images.ts says what each one is. */
export const LAYOUTS = ['official', 'alpine', 'bitnami', 'upgrade', 'client', 'shell', 'idle'] as const;
export type Layout = (typeof LAYOUTS)[number];

/** One line of the table: a repository pattern (and optionally a tag pattern) and the layout it stands for. */
export interface ImageMapEntry {
  repository: string;
  tag?: string;
  layout: Layout;
}

/** The environment variable that names a YAML file of entries added before the built-in ones. */
export const IMAGE_MAP_ENV = 'PGUPGRADE_TEST_IMAGE_MAP';
const BUILT_IN = path.join(path.dirname(new URL(import.meta.url).pathname), 'images.yaml');

/** Reads and checks a table; an error names the file and the entry, so a typo in a map is found at once. */
export function readImageMap(file: string): ImageMapEntry[] {
  let doc: unknown;
  try {
    doc = loadYaml(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`image map ${file}: ${(err as Error).message}`);
  }
  if (doc === undefined || doc === null) return [];
  if (!Array.isArray(doc)) throw new Error(`image map ${file}: a list of { repository, layout } entries is expected`);
  return doc.map((e: Record<string, unknown>, i) => {
    const where = `image map ${file}, entry ${i + 1}`;
    if (typeof e?.repository !== 'string' || e.repository === '') throw new Error(`${where}: no repository`);
    if (!LAYOUTS.includes(e.layout as Layout))
      throw new Error(
        `${where} (${e.repository}): layout must be one of ${LAYOUTS.join(', ')}, not ${JSON.stringify(e.layout)}`,
      );
    if (e.tag !== undefined && typeof e.tag !== 'string')
      throw new Error(`${where} (${e.repository}): tag must be a string pattern`);
    const extra = Object.keys(e).filter((k) => !['repository', 'tag', 'layout'].includes(k));
    if (extra.length)
      throw new Error(`${where} (${e.repository}): unknown field ${extra.join(', ')} (the major comes from the tag)`);
    return {
      repository: e.repository,
      layout: e.layout as Layout,
      ...(e.tag === undefined ? {} : { tag: e.tag as string }),
    };
  });
}

/**
 * The table as the agent reads it now: the entries of the file that PGUPGRADE_TEST_IMAGE_MAP names, then the
 * built-in ones; the first match wins. Read on every lookup, so an entry added while the agent runs serves the
 * next container that starts (a file is a few lines).
 */
export function currentImageMap(env: NodeJS.ProcessEnv = process.env): ImageMapEntry[] {
  const extra = env[IMAGE_MAP_ENV];
  return [...(extra ? readImageMap(extra) : []), ...readImageMap(BUILT_IN)];
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** Splits a reference into registry (if any), repository without `library/`, and tag (`latest` when none). */
export function splitRef(ref: string): { registry?: string; repo: string; tag: string } {
  let r = ref.split('@')[0] as string;
  const first = r.split('/')[0] as string;
  let registry: string | undefined;
  if (r.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    r = r.slice(first.length + 1);
  }
  if (r.startsWith('library/')) r = r.slice('library/'.length);
  const colon = r.lastIndexOf(':');
  const [repo, tag] = colon > 0 ? [r.slice(0, colon), r.slice(colon + 1)] : [r, 'latest'];
  return { ...(registry && registry !== 'docker.io' ? { registry } : {}), repo, tag };
}

/** The first entry that matches a reference; a pattern that names a registry is matched against it too. */
export function matchImage(ref: string, table: ImageMapEntry[]): ImageMapEntry | undefined {
  const { registry, repo, tag } = splitRef(ref);
  return table.find((e) => {
    const first = e.repository.split('/')[0] as string;
    const withRegistry =
      e.repository.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
    const name = withRegistry ? `${registry ?? 'docker.io'}/${repo}` : repo;
    return glob(e.repository).test(name) && (e.tag === undefined || glob(e.tag).test(tag));
  });
}
