import type { DbRuleInput, Finding } from './rules.ts';
import { mergeObjects, objectsFound, withStatements } from './rules-objects.ts';
import { pairTraps } from './versions.ts';

/**
 * What pg_upgrade --check refuses in the oldest sources, found in SQL before any downtime: tables WITH OIDS and
 * columns of types that a later major dropped or stores differently. Each fires only for the pairs that
 * pairTraps lists (src/postgres/versions.ts). Like pg_upgrade, they look at user tables; unlike it, not at arrays or
 * domains over those types, which pg_upgrade --check in the Job still catches before anything is changed.
 */
const TYPE_RULES: Array<{ id: string; title: string; types: string[]; why: string; fix: string }> = [
  {
    id: 'removed-types',
    title: 'No columns of types removed in 12',
    types: ['abstime', 'reltime', 'tinterval'],
    why: 'types removed in 12',
    fix: 'ALTER those columns to timestamptz or interval (ALTER TABLE … ALTER COLUMN … TYPE timestamptz)',
  },
  {
    id: 'sql-identifier',
    title: 'No sql_identifier columns',
    types: ['sql_identifier'],
    why: 'stored differently from 12',
    fix: 'ALTER those columns to name or text',
  },
  {
    id: 'aclitem-columns',
    title: 'No aclitem columns',
    types: ['aclitem'],
    why: 'whose format changed in 16',
    fix: 'ALTER those columns to text (aclitem::text) before upgrading',
  },
];

const finding = (id: string, title: string, status: Finding['status'], found: string, fix?: string): Finding => ({
  id,
  title,
  status,
  found,
  ...(fix ? { fix } : {}),
});

/** The type and WITH OIDS rules of this pair: only those that apply, so a report of a newer pair stays short. */
export function verifyTypeRules(i: DbRuleInput): Finding[] {
  const traps = new Set(pairTraps(i.from, i.to).map((t) => t.id));
  const out: Finding[] = [];
  if (traps.has('with-oids')) {
    const oids = objectsFound(i.databases, (f) => f.withOids);
    out.push(
      oids.found.length
        ? finding(
            'with-oids',
            'No tables WITH OIDS',
            'fail',
            `tables WITH OIDS, which ${i.to} cannot hold: ${oids.found.join('; ')}`,
            withStatements(
              'ALTER TABLE … SET WITHOUT OIDS on each of them (a table rewrite: plan its time)',
              oids.fixes,
            ),
          )
        : finding('with-oids', 'No tables WITH OIDS', 'pass', 'none'),
    );
  }
  for (const r of TYPE_RULES.filter((x) => traps.has(x.id))) {
    const cols = objectsFound(i.databases, (f) => mergeObjects(r.types.map((t) => f.typeColumns?.[t])));
    out.push(
      cols.found.length
        ? finding(
            r.id,
            r.title,
            'fail',
            `user table columns of ${r.types.join('/')} (${r.why}): ${cols.found.join('; ')}`,
            withStatements(r.fix, cols.fixes),
          )
        : finding(r.id, r.title, 'pass', 'none'),
    );
  }
  return out;
}
