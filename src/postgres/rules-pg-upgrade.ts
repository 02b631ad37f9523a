import { type DbRuleInput, type Finding, finding } from './rules.ts';
import { objectsFound, withStatements } from './rules-objects.ts';
import { pairTraps } from './versions.ts';

const NONE = { found: [] as string[], fixes: [] as string[] };

/** pg_upgrade refuses while any prepared transaction exists. */
function preparedTransactions(i: DbRuleInput): Finding {
  const prepared = i.server.prepared;
  return prepared > 0
    ? finding(
        'prepared-transactions',
        'No prepared transactions',
        'fail',
        `${prepared} prepared transaction(s) in pg_prepared_xacts`,
        'COMMIT PREPARED or ROLLBACK PREPARED each one (see pg_prepared_xacts); pg_upgrade refuses while any exist',
      )
    : finding('prepared-transactions', 'No prepared transactions', 'pass', 'none');
}

/** Logical slots: pg_upgrade drops them before 17 and carries them from 17. */
function replicationSlots(i: DbRuleInput): Finding {
  const logical = i.server.slots.filter((s) => s.type === 'logical');
  if (logical.length === 0) return finding('replication-slots', 'Logical replication slots', 'pass', 'none');
  if (i.from < 17)
    return finding(
      'replication-slots',
      'Logical replication slots',
      'fail',
      `${logical.map((s) => `${s.name} (${s.database})`).join(', ')}: pg_upgrade only carries logical slots from 17 onwards, so ${i.to < 17 ? `a ${i.to} target` : 'this upgrade'} would drop them silently and their subscribers would lose their place`,
      'drop the slots (SELECT pg_drop_replication_slot(name)) and re-create the subscriptions after the upgrade, or use --method dump',
    );
  return finding(
    'replication-slots',
    'Logical replication slots',
    'warn',
    `${logical.length} slot(s) will be carried; each must have consumed all WAL before the upgrade`,
    'stop writes and let subscribers catch up',
  );
}

/** Columns of reg* types, whose OIDs pg_upgrade cannot carry. */
function regColumns(i: DbRuleInput): Finding {
  const reg = objectsFound(i.databases, (f) => f.regColumns);
  return reg.found.length
    ? finding(
        'reg-columns',
        'No reg* columns',
        'fail',
        `columns of reg* types that hold OIDs, which pg_upgrade cannot carry: ${reg.found.join('; ')}`,
        withStatements('ALTER those columns to text or oid before upgrading', reg.fixes),
      )
    : finding('reg-columns', 'No reg* columns', 'pass', 'none');
}

/** User postfix operators, removed in 14 (looked for only when the pair has that trap). */
function postfixOperators(i: DbRuleInput, traps: Set<string>): Finding {
  const postfix = traps.has('postfix-operators') ? objectsFound(i.databases, (f) => f.postfixOperators) : NONE;
  return postfix.found.length
    ? finding(
        'postfix-operators',
        'No user postfix operators',
        'fail',
        `user-defined postfix operators, removed in 14: ${postfix.found.join('; ')}`,
        withStatements('DROP OPERATOR each (or re-create it as a prefix operator)', postfix.fixes),
      )
    : finding('postfix-operators', 'No user postfix operators', 'pass', 'none');
}

/** Child tables computing a column their parent stores: the schema's restore into 16 or later fails on them. */
function generatedChildren(i: DbRuleInput, traps: Set<string>): Finding[] {
  if (!traps.has('generated-children')) return [];
  const title = 'No child table computes a column its parent stores';
  const gen = objectsFound(i.databases, (f) => f.generatedChildren);
  if (!gen.found.length) return [finding('generated-children', title, 'pass', 'none')];
  return [
    finding(
      'generated-children',
      title,
      'fail',
      `generated columns of child tables whose parent's column is not generated, which 16 refuses: the restore of the schema would fail inside the downtime: ${gen.found.join('; ')}`,
      withStatements(
        "make each an ordinary column (it keeps its values; new rows need them set), or drop the child, or make the parent's column generated too",
        gen.fixes,
      ),
    ),
  ];
}

/** User encoding conversions, whose function signature changed in 14: none when the pair has no such trap. */
function encodingConversions(i: DbRuleInput, traps: Set<string>): Finding[] {
  const conv = traps.has('encoding-conversions') ? objectsFound(i.databases, (f) => f.userConversions) : NONE;
  if (conv.found.length)
    return [
      finding(
        'encoding-conversions',
        'No user encoding conversions',
        'fail',
        `user-defined encoding conversions, whose function signature changed in 14: ${conv.found.join('; ')}`,
        withStatements('DROP CONVERSION each and re-create it after the upgrade', conv.fixes),
      ),
    ];
  if (traps.has('encoding-conversions'))
    return [finding('encoding-conversions', 'No user encoding conversions', 'pass', 'none')];
  return [];
}

/**
 * pg_upgrade passes each database name through a shell and refuses one with a newline or carriage return
 * ("shell command argument contains a newline"), after the downtime has begun.
 */
function databaseNames(i: DbRuleInput): Finding[] {
  const lines = i.server.databases.map((d) => d.name).filter((n) => /[\n\r]/.test(n));
  if (!lines.length) return [];
  return [
    finding(
      'database-names',
      'No database name holds a line break',
      'fail',
      `pg_upgrade refuses database names with a newline or carriage return: ${lines.map((n) => JSON.stringify(n)).join(', ')}`,
      'rename them (ALTER DATABASE "…" RENAME TO …, with the applications stopped), or use --method dump',
    ),
  ];
}

/** Columns with the pg_attver option (a Debian 17 packaging artefact): none when the pair has no such trap. */
function pgAttver(i: DbRuleInput, traps: Set<string>): Finding[] {
  const attver = traps.has('pg-attver') ? objectsFound(i.databases, (f) => f.attverColumns) : NONE;
  if (attver.found.length)
    return [
      finding(
        'pg-attver',
        'No pg_attver column options',
        'fail',
        `columns carry the attribute option pg_attver (a Debian 17 packaging artefact) that ${i.to} rejects while restoring the schema: ${attver.found.join('; ')}`,
        withStatements('RESET (pg_attver) on those columns', attver.fixes),
      ),
    ];
  if (traps.has('pg-attver')) return [finding('pg-attver', 'No pg_attver column options', 'pass', 'none')];
  return [];
}

/** What pg_upgrade --check would refuse, found in SQL before any downtime. */
export function verifyPgUpgradeRules(i: DbRuleInput): Finding[] {
  const traps = new Set(pairTraps(i.from, i.to).map((t) => t.id));
  return [
    preparedTransactions(i),
    replicationSlots(i),
    regColumns(i),
    postfixOperators(i, traps),
    ...generatedChildren(i, traps),
    ...encodingConversions(i, traps),
    ...databaseNames(i),
    ...pgAttver(i, traps),
  ];
}
