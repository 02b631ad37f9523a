import { splitSql } from './sql-lexer.ts';

/**
 * `pg_dumpall --globals-only` made fit for a new instance whose superuser may have another name (the seed's
 * `pg-14-admin` beside the source's `admin`). The new instance's own superuser was made by its initdb, from the
 * target's Secret: the dump must neither create it again (an error that stops the load) nor set its attributes
 * and password to the source's (the target's Secret would no longer log in). Every other role comes over as it
 * is, with its password hash, md5 ones included; the source's superuser becomes an ordinary role of the target
 * when the names differ (it keeps SUPERUSER, and the objects it owns keep their owner).
 *
 * The dump is read per statement (splitSql), never per line: a role's setting may be a literal of many lines, any
 * of which may read like a statement. A psql meta-command outside SQL is refused; the dump's own `\restrict` and
 * `\unrestrict` lines are left out (the load restricts its psql itself, dump-script.ts).
 *
 * Nothing here returns a password: what is reported is redacted.
 */

/** The dump's text for the target, and what was changed or needs attention, in words fit to print. */
export interface GlobalsRewrite {
  sql: string;
  /** The statements left out, each redacted. */
  skipped: string[];
  /** Roles whose password is an md5 hash: they log in only where pg_hba allows md5 (not scram-sha-256 alone). */
  md5Roles: string[];
  /** Tablespaces and their locations: the target needs those directories, or CREATE TABLESPACE fails. */
  tablespaces: Array<{ name: string; location: string }>;
}

// A role name as pg_dumpall writes it: a quoted identifier ("" for a quote) or a plain lower-case one. Each is
// matched against one whole statement (splitSql), its trailing blanks cut.
const IDENT = String.raw`("(?:[^"]|"")*"|[^\s;"]+)`;
const CREATE_ROLE = new RegExp(`^CREATE ROLE ${IDENT};$`);
const ALTER_ROLE_WITH = new RegExp(`^ALTER ROLE ${IDENT} WITH\\b`);
const ANY_ROLE_WITH = new RegExp(`^(?:CREATE|ALTER) ROLE ${IDENT}\\b`);
const TABLESPACE = new RegExp(`^CREATE TABLESPACE ${IDENT} .*LOCATION '((?:[^']|'')*)';$`);
const MD5 = /\bPASSWORD 'md5[0-9a-f]{32}'/;
// The client's own \restrict of newer pg_dumpall (17.6, 16.10, 15.14, 14.19, 13.22 and later): the plugin restricts psql itself.
const RESTRICT = /^\\(?:un)?restrict [A-Za-z0-9]+[ \t\r]*\n?$/;
// A password literal, E'…' or '…', to its closing quote or the end of its line (psql cuts long lines it quotes).
const PASSWORD = /(\bPASSWORD\s+)(?:E'(?:[^'\\\n]|''|\\[^])*(?:'|$)|'(?:[^'\n]|'')*(?:'|$))/gim;

/** An identifier as written in SQL, unquoted: `"pg-14-admin"` → `pg-14-admin`. */
export function unquoteIdent(s: string): string {
  return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s;
}

/**
 * The text with every password literal replaced (`PASSWORD '…'` or `E'…'`, in any case, also one that a line cut
 * short leaves open), so that it can be printed or logged.
 */
export function redactPasswords(text: string): string {
  return text.replace(PASSWORD, "$1'<redacted>'");
}

/** Who the target already has: the superuser that the plugin connects as, and every role that exists there. */
export interface TargetRoles {
  superuser: string;
  /** The roles of the empty target (its initdb's bootstrap superuser, and the superuser); the superuser by default. */
  existing?: string[];
}

/**
 * Rewrites `pg_dumpall --globals-only` output for the target: a role that exists there already is not created
 * again (an error that would stop the load), and the target's superuser is not altered either, so that it keeps
 * its attributes and the password of the target's Secret (its per-role settings, ALTER ROLE … SET, stay). Another
 * existing role (the bootstrap `postgres` beside a `pg-14-admin`) takes the source's attributes and password, as
 * it would on any restore. md5 roles and tablespaces are named for the report. Decided per whole statement
 * (splitSql); everything else stays exactly as it was, but the dump's own `\restrict`/`\unrestrict` lines. Throws
 * (META_REFUSED) when the dump holds any other psql meta-command outside SQL.
 */
export function rewriteGlobals(dump: string, target: TargetRoles): GlobalsRewrite {
  const existing = new Set([target.superuser, ...(target.existing ?? [])]);
  const r: GlobalsRewrite = { sql: '', skipped: [], md5Roles: [], tablespaces: [] };
  const out: string[] = [];
  let unended = false;
  for (const piece of splitSql(dump)) {
    if (piece.kind === 'meta') {
      if (unended || !RESTRICT.test(piece.text)) throw new Error(META_REFUSED);
      continue;
    }
    const body = piece.text.slice(piece.lead).trimEnd();
    unended = piece.kind === 'rest' && body !== '';
    if (piece.kind === 'statement' && dropped(body, existing, target.superuser)) {
      r.skipped.push(redactPasswords(body));
      out.push(piece.text.slice(0, piece.lead));
      continue;
    }
    noteOf(body, r);
    out.push(piece.text);
  }
  return { ...r, sql: out.join('') };
}

/** Why rewriteGlobals refuses a dump: psql would run the backslash command, not send it to the server. */
export const META_REFUSED =
  "the source's globals (pg_dumpall --globals-only) hold a psql meta-command outside SQL, " +
  'which the plugin will not run: nothing was loaded';

/** Whether a statement of the dump is left out: a role the target has is not created again, its superuser not altered. */
function dropped(body: string, existing: Set<string>, superuser: string): boolean {
  const create = CREATE_ROLE.exec(body);
  if (create) return existing.has(unquoteIdent(create[1] as string));
  const alter = ALTER_ROLE_WITH.exec(body);
  return alter !== null && unquoteIdent(alter[1] as string) === superuser;
}

/** What the report says of a statement that stays: an md5 role, a tablespace and its location. */
function noteOf(body: string, r: GlobalsRewrite): void {
  const named = ANY_ROLE_WITH.exec(body)?.[1];
  if (named !== undefined && MD5.test(body)) r.md5Roles.push(unquoteIdent(named));
  const ts = TABLESPACE.exec(body);
  if (ts?.[1] && ts[2] !== undefined)
    r.tablespaces.push({ name: unquoteIdent(ts[1]), location: ts[2].replace(/''/g, "'") });
}

/** The report's lines about the globals: nothing in them is a password. */
export function describeGlobals(r: GlobalsRewrite, targetSuperuser: string): string[] {
  const lines: string[] = [];
  if (r.skipped.length)
    lines.push(
      `the target's own superuser ${targetSuperuser} keeps its attributes and its password from the target's Secret (${r.skipped.length} statements of the dump left out)`,
    );
  if (r.md5Roles.length) {
    lines.push(
      `md5 password hashes carried as they are for ${r.md5Roles.join(', ')}: they log in only where pg_hba.conf allows md5 (which also accepts SCRAM); set their passwords again to store SCRAM`,
    );
  }
  for (const t of r.tablespaces)
    lines.push(`tablespace ${t.name} lives at ${t.location}: that directory must exist on the target`);
  return lines;
}
