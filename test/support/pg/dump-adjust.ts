import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unqualifyViews } from './view-qualifiers.ts';

/**
 * The adjustments of a cross-version upgrade test of the regression database, written from what PostgreSQL's own
 * test (src/test/perl/PostgreSQL/Test/AdjustUpgrade.pm) says it adjusts and why, for the pairs the tests run.
 */

/** One adjustment: what it does, why, and the pairs it applies to. */
interface Rule {
  why: string;
  applies: (from: number, to: number) => boolean;
}

/** Statements to run in the old cluster before the upgrade: objects pg_upgrade refuses for the pair. */
export interface ContentRule extends Rule {
  db: string;
  statements: string[];
}

export const CONTENT_RULES: ContentRule[] = [
  {
    why: 'postfix operators were removed in 14: pg_upgrade refuses a cluster that has any (check FAILs first)',
    applies: (from, to) => from < 14 && to >= 14,
    db: 'regression',
    statements: [
      'DROP OPERATOR public.#@# (bigint, NONE)',
      'DROP OPERATOR public.#%# (bigint, NONE)',
      'DROP OPERATOR IF EXISTS public.!=- (bigint, NONE)',
      'DROP OPERATOR IF EXISTS public.#@%# (bigint, NONE)',
    ],
  },
  {
    why: "aclitem's on-disk format changed in 16: pg_upgrade refuses aclitem columns in user tables",
    applies: (from, to) => from < 16 && to >= 16,
    db: 'regression',
    statements: ['ALTER TABLE public.tab_core_types DROP COLUMN aclitem'],
  },
  {
    why: "16 no longer lets a child table compute a generated column its parent does not: pg_dump's restore fails on them",
    applies: (from, to) => from < 16 && to >= 16,
    db: 'regression',
    statements: ['DROP TABLE public.gtest_normal_child', 'DROP TABLE public.gtest_normal_child2'],
  },
];

/** The statements to run before the upgrade, per database, for the pair. */
export function contentAdjustments(from: number, to: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of CONTENT_RULES.filter((x) => x.applies(from, to))) {
    out.set(r.db, [...(out.get(r.db) ?? []), ...r.statements]);
  }
  return out;
}

/** An edit of the text of the old cluster's pg_dumpall (taken with the new major's client) before the comparison. */
export interface TextRule extends Rule {
  edit: (dump: string) => string;
}

/** Edits of the old cluster's dump: what the old server printed that the new one says otherwise. */
export const OLD_DUMP_RULES: TextRule[] = [
  {
    why: '16 prints the columns of some single-table views without their table name (view-qualifiers.ts)',
    applies: (from, to) => from < 16 && to >= 16,
    edit: unqualifyViews,
  },
  {
    why: "17 added the MAINTAIN privilege: the new server's ALL for a table holds it, and a grant of all but DELETE names it",
    applies: (from, to) => from >= 14 && from < 16 && to >= 17,
    edit: (d) =>
      d
        .replace(/^REVOKE SELECT,INSERT,REFERENCES,DELETE,TRIGGER,TRUNCATE,UPDATE ON TABLE/gm, 'REVOKE ALL ON TABLE')
        .replace(/^(GRANT SELECT,INSERT,REFERENCES,TRIGGER,TRUNCATE),UPDATE ON TABLE/gm, '$1,MAINTAIN,UPDATE ON TABLE'),
  },
  {
    why: "the 13 server lists the regression test's extended hash function inside its operator class; after the upgrade it is a loose member of the family (the new dump adds it with ALTER OPERATOR FAMILY, dropped below)",
    applies: (from, to) => from < 14 && to >= 14,
    edit: (d) =>
      d.replace(
        /^(\s+OPERATOR 1 =\((integer,integer|text,text)\)) ,\n\s+FUNCTION 2 \((integer, integer|text, text)\) public\.part_hash\w+\((integer|text),bigint\);/gm,
        '$1;',
      ),
  },
];

/** Edits of the new cluster's dump: what the new server says that the old one had no words for. */
export const NEW_DUMP_RULES: TextRule[] = [
  {
    why: '16 added XMLSERIALIZE ... INDENT: the new server says NO INDENT where the old one said nothing',
    applies: (from, to) => from < 16 && to >= 16,
    edit: (d) => d.replace(/(XMLSERIALIZE\(.*?) NO INDENT\)/g, '$1)'),
  },
  {
    why: "17 prints AS before the alias of a rule's UPDATE or DELETE target; 15 did not (seen between them)",
    applies: (from, to) => from <= 15 && to >= 17,
    edit: (d) => d.replace(DML_ALIAS, '$1 $2'),
  },
  {
    why: '14 writes the noise word IN before the arguments of a procedure; 13 did not',
    applies: (from, to) => from < 14 && to >= 14,
    edit: (d) =>
      d.replace(/^((?:CREATE|ALTER) PROCEDURE .*)$/gm, (line) => line.replace(/\(IN /, '(').replace(/, IN /g, ', ')),
  },
  {
    why: "14 gave types a subscript handler: the new server names the arrays' one, which 13 implied",
    applies: (from, to) => from < 14 && to >= 14,
    edit: (d) => d.replace(/^\s+SUBSCRIPT = raw_array_subscript_handler,\n/gm, ''),
  },
  {
    why: "14 made a multirange type with every range type: the new server names it in the range's CREATE TYPE",
    applies: (from, to) => from < 14 && to >= 14,
    edit: (d) => d.replace(/,\n\s+multirange_type_name = .*?(,?)$/gm, '$1'),
  },
  {
    why: "14 added extended hash support functions: the new server's operator families name the regression test's own",
    applies: (from, to) => from < 14 && to >= 14,
    edit: (d) =>
      d.replace(
        /^ALTER OPERATOR FAMILY public\.part_test_(int4|text)_ops USING hash ADD\n\s+FUNCTION 2 \((integer, integer|text, text)\) public\.part_hash\w+\((integer|text),bigint\);\n/gm,
        '',
      ),
  },
];

// INSERT's target had its AS before 17 already.
const DML_ALIAS = /^(\s*(?:ON \w+ TO \S+ DO INSTEAD\s+)?(?:UPDATE|DELETE FROM) \S+) AS (\w+)/gm;

/** What both dumps lose before the comparison: what differs between any two runs, not between two clusters. */
function common(dump: string): string {
  return (
    dump
      .replace(/\r\n/g, '\n')
      // The server's version is meant to differ.
      .replace(/^-- Dumped from database version.*\n/gm, '')
      // pg_dump's \restrict key is random in every run (from 13.22, 14.19, 15.14, 16.10, 17.6).
      .replace(/^\\(un)?restrict \S+\n/gm, '')
      // Some pg_dump versions emit more or fewer blank lines between objects.
      .replace(/\n\n+/g, '\n')
  );
}

/** The old cluster's dump as the comparison reads it. */
export function adjustOldDump(dump: string, from: number, to: number): string {
  return OLD_DUMP_RULES.filter((r) => r.applies(from, to)).reduce((d, r) => r.edit(d), common(dump));
}

/** The new cluster's dump as the comparison reads it. */
export function adjustNewDump(dump: string, from: number, to: number): string {
  return NEW_DUMP_RULES.filter((r) => r.applies(from, to)).reduce((d, r) => r.edit(d), common(dump));
}

/** The differences of two texts as `diff -u` prints them, the first `max` lines (empty when equal). */
export function firstDifferences(a: string, b: string, max = Number(process.env.DUMP_DIFF_LINES ?? 80)): string[] {
  if (a === b) return [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dump-diff-'));
  try {
    fs.writeFileSync(path.join(dir, 'old'), a);
    fs.writeFileSync(path.join(dir, 'new'), b);
    const r = spawnSync('diff', ['-u', 'old', 'new'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
    return r.stdout.split('\n').slice(2, 2 + max);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
