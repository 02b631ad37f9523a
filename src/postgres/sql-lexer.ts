/**
 * SQL text cut into whole statements the way psql cuts it, for the plugin to decide per statement what it sends
 * (never per line: a string literal may hold newlines, and a line of it may read like a statement of its own).
 * It knows standard strings ('…', '' for a quote, as under standard_conforming_strings = on, which pg_dumpall sets
 * and every supported server defaults to), E'…' strings (backslash escapes), the continuation of a literal on a
 * later line, dollar quotes ($$…$$, $tag$…$tag$), quoted identifiers ("…"), -- and nested /* *\/ comments, and
 * parentheses (a `;` inside them does not end a statement, as in psql). A backslash outside all of these is a psql
 * meta-command, which runs to the end of its line: it is returned as a piece of its own. Pure: no I/O.
 */

/** One piece of the text: the pieces joined are the input, exactly. */
export interface SqlPiece {
  /**
   * `statement`: up to and including a top-level `;` (and the blanks and newline after it); `meta`: a psql
   * meta-command, from its backslash to the end of its line; `rest`: text that no `;` ended, before a meta-command
   * or at the end of the input.
   */
  kind: 'statement' | 'meta' | 'rest';
  text: string;
  /** Where the statement itself begins in `text`, after blanks and comments (`text.length` when there is none). */
  lead: number;
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z_0-9$\u0080-\uffff]/y;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z_0-9\u0080-\uffff]*)?\$/y;
const CONTINUATION = /[ \t\f\r]*\n[ \t\n\f\r]*'/y;

/** The end of a quoted run that began at `i` (its opening quote), past its closing quote; `escapes` for E'…'. */
function endOfQuoted(s: string, i: number, quote: string, escapes: boolean): number {
  let j = i + 1;
  for (;;) {
    if (j >= s.length) return s.length;
    const c = s[j];
    if (escapes && c === '\\') j += 2;
    else if (c === quote && s[j + 1] === quote) j += 2;
    else if (c === quote) return j + 1;
    else j++;
  }
}

/** The end of a string literal at `i`, with its continuations (a quote after whitespace that holds a newline). */
function endOfString(s: string, i: number, escapes: boolean): number {
  let end = endOfQuoted(s, i, "'", escapes);
  for (;;) {
    CONTINUATION.lastIndex = end;
    if (!CONTINUATION.test(s)) return end;
    end = endOfQuoted(s, CONTINUATION.lastIndex - 1, "'", escapes);
  }
}

/** The end of a nested /* comment that begins at `i`. */
function endOfBlockComment(s: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    if (s.startsWith('/*', j)) {
      depth++;
      j += 2;
    } else if (s.startsWith('*/', j)) {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else j++;
  }
  return s.length;
}

/** The end of an identifier or key word that begins at `i` (it may hold `$`: `a$b$` is no dollar quote). */
function endOfWord(s: string, i: number): number {
  let j = i + 1;
  IDENT_CONT.lastIndex = j;
  while (j < s.length && IDENT_CONT.test(s)) IDENT_CONT.lastIndex = ++j;
  return j;
}

/** The end of the token (or comment, or literal) that begins at `i`, when it is one of the quoted or commented kinds. */
function endOfQuotedToken(s: string, i: number): number | undefined {
  const c = s[i] as string;
  if (c === "'") return endOfString(s, i, false);
  if (c === '"') return endOfQuoted(s, i, '"', false);
  if (s.startsWith('--', i)) {
    const nl = s.indexOf('\n', i);
    return nl < 0 ? s.length : nl;
  }
  if (s.startsWith('/*', i)) return endOfBlockComment(s, i);
  if (c === '$') {
    DOLLAR_TAG.lastIndex = i;
    const tag = DOLLAR_TAG.exec(s)?.[0];
    if (tag === undefined) return undefined;
    const close = s.indexOf(tag, i + tag.length);
    return close < 0 ? s.length : close + tag.length;
  }
  if (IDENT_START.test(c)) {
    const end = endOfWord(s, i);
    // E'…' takes backslash escapes; before any other word (N, B, X, U&) the quote opens a standard string.
    return s.slice(i, end).toLowerCase() === 'e' && s[end] === "'" ? endOfString(s, end, true) : end;
  }
  return undefined;
}

/** Blanks and comments at the start of `text`: where the statement itself begins. */
function leadOf(text: string): number {
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i] as string)) i++;
    else if (text.startsWith('--', i) || text.startsWith('/*', i)) i = endOfQuotedToken(text, i) as number;
    else break;
  }
  return i;
}

/** Cuts `sql` into statements, psql meta-commands and what no `;` ended (see SqlPiece). */
export function splitSql(sql: string): SqlPiece[] {
  const pieces: SqlPiece[] = [];
  const push = (kind: SqlPiece['kind'], text: string) => {
    if (text) pieces.push({ kind, text, lead: kind === 'meta' ? 0 : leadOf(text) });
  };
  let start = 0;
  let depth = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const end = endOfQuotedToken(sql, i);
    if (end !== undefined) {
      i = end;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ';' && depth === 0) {
      const after = /[ \t\r]*\n?/y;
      after.lastIndex = i + 1;
      after.test(sql);
      push('statement', sql.slice(start, after.lastIndex));
      start = i = after.lastIndex;
      continue;
    } else if (c === '\\') {
      push('rest', sql.slice(start, i));
      const nl = sql.indexOf('\n', i);
      const eol = nl < 0 ? sql.length : nl + 1;
      push('meta', sql.slice(i, eol));
      start = i = eol;
      depth = 0;
      continue;
    }
    i++;
  }
  push('rest', sql.slice(start));
  return pieces;
}
