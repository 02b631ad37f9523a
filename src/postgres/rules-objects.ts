import type { DatabaseFacts, Objects } from './facts.ts';

/** How many objects of a kind a finding names, per database; the rest are counted. */
export const SHOWN = 20;

/** The first SHOWN names, then "and N more" (N counted by the server, so it holds however many there are). */
export function firstNames(o: Objects): string {
  const names = o.items.slice(0, SHOWN).map((x) => x.name);
  const more = o.count - names.length;
  if (!names.length) return '';
  return more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
}

/**
 * The objects of one kind in every database: what a finding says it found (`db (count): names`) and the
 * statements that fix the named ones (`in db: …`), the rest said by count.
 */
export function objectsFound(
  dbs: Map<string, DatabaseFacts>,
  pick: (f: DatabaseFacts) => Objects | undefined,
): { found: string[]; fixes: string[] } {
  const found: string[] = [];
  const fixes: string[] = [];
  for (const [db, f] of dbs) {
    const o = pick(f);
    if (!o || o.count <= 0) continue;
    const names = firstNames(o);
    found.push(`${db} (${o.count})${names ? `: ${names}` : ''}`);
    const statements = o.items.slice(0, SHOWN).flatMap((x) => (x.fix ? [x.fix] : []));
    const rest = o.count - Math.min(o.items.length, SHOWN);
    if (statements.length)
      fixes.push(`in ${db}: ${statements.join('; ')}${rest > 0 ? ` (and the same for the ${rest} more)` : ''}`);
  }
  return { found, fixes };
}

/** The general advice, then the statements when there are any. */
export const withStatements = (advice: string, fixes: string[]): string =>
  fixes.length ? `${advice}: ${fixes.join('; ')}` : advice;

/** Merges the objects of several kinds (the types of one rule) into one. */
export function mergeObjects(list: Array<Objects | undefined>): Objects {
  const present = list.filter((o): o is Objects => !!o);
  return {
    count: present.reduce((n, o) => n + o.count, 0),
    items: present.flatMap((o) => o.items).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}
