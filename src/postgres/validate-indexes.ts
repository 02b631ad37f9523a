import type { AmcheckResult, ValidateDbFacts } from './validate-facts.ts';
import { validateFinding as f, type ValidateFinding } from './validate.ts';

/** How `validate` judges the indexes of an upgraded server: their collations' versions, and amcheck. */

/** The first 20 of a list, then how many more. */
export function firstOf(names: string[], limit = 20): string {
  return names.length > limit
    ? `${names.slice(0, limit).join(', ')} and ${names.length - limit} more`
    : names.join(', ');
}

/** The statements that record the library's version, for each database whose versions moved. */
function refreshStatements(dbs: Map<string, ValidateDbFacts>): string[] {
  const out: string[] = [];
  for (const [db, x] of dbs) {
    const dc = x.databaseCollation;
    if (dc?.recorded && dc.recorded !== dc.actual)
      out.push(`ALTER DATABASE "${db.replace(/"/g, '""')}" REFRESH COLLATION VERSION`);
    for (const c of x.collations) out.push(`(in ${db}) ALTER COLLATION ${c.name} REFRESH VERSION`);
  }
  return out;
}

/**
 * 6. Collation versions recorded against the library's. A moved version alone is no harm (the official images
 * change glibc between majors): WARN with the statements that record it. FAIL when an index, a partition key or
 * a CHECK constraint depends on it, naming them.
 */
export function judgeCollations(dbs: Map<string, ValidateDbFacts>, to: number): ValidateFinding {
  const title = 'Collation versions match the library';
  const bad: string[] = [];
  for (const [db, x] of dbs) {
    const dc = x.databaseCollation;
    if (dc?.recorded && dc.recorded !== dc.actual)
      bad.push(`database ${db} recorded ${dc.recorded}, library ${dc.actual ?? 'none'}`);
    for (const c of x.collations)
      bad.push(`database ${db}: collation ${c.name} recorded ${c.recorded}, library ${c.actual ?? 'none'}`);
  }
  if (!bad.length)
    return f(
      'collations',
      title,
      'pass',
      to >= 15
        ? "every database's and collation's recorded version is the library's"
        : "every collation's recorded version is the library's (14 and older record none per database)",
    );
  const deps = [...dbs]
    .filter(([, x]) => x.collationIndexes.length || x.collationOthers.length)
    .map(([db, x]) => `${db}: ${firstOf([...x.collationIndexes.map((i) => `index ${i}`), ...x.collationOthers])}`);
  if (!deps.length) {
    return f(
      'collations',
      title,
      'warn',
      `${bad.join('; ')}; no index, partition key or constraint depends on them`,
      `record the library's version: --reindex-collations (nothing to rebuild), or ${refreshStatements(dbs).join('; ')}`,
    );
  }
  const others = [...dbs.values()].some((x) => x.collationOthers.length);
  return f(
    'collations',
    title,
    'fail',
    `${bad.join('; ')}; these depend on them and may be out of order: ${deps.join('; ')}`,
    `${others ? 'check that the rows of those partitions and constraints still hold, then ' : ''}--reindex-collations (REINDEX of those indexes, then ALTER ${to >= 15 ? 'DATABASE … REFRESH COLLATION VERSION / ' : ''}COLLATION … REFRESH VERSION)`,
    deps,
  );
}

/** 7. amcheck's bt_index_check, per index. */
export function judgeAmcheck(results: Map<string, AmcheckResult[]>): ValidateFinding {
  const title = 'B-tree indexes pass amcheck (bt_index_check)';
  const all = [...results].flatMap(([db, rs]) => rs.map((r) => ({ db, ...r })));
  const broken = all.filter((r) => !r.ok);
  const details = all.map((r) => `${r.ok ? 'ok' : 'CORRUPT'} ${r.db}: ${r.index}${r.error ? `: ${r.error}` : ''}`);
  if (broken.length) {
    return f(
      'amcheck',
      title,
      'fail',
      `${broken.length} of ${all.length} indexes fail: ${broken.map((r) => `${r.db}: ${r.index} (${r.error})`).join('; ')}`,
      'REINDEX INDEX each of them; if a table is damaged too, roll back to the snapshot',
      details,
    );
  }
  return f(
    'amcheck',
    title,
    'pass',
    `${all.length} indexes in ${results.size} databases checked, all consistent`,
    undefined,
    details,
  );
}
