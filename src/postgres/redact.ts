import { redactPasswords } from './dump-globals.ts';

/**
 * Text that PostgreSQL's tools print (pg_restore's and psql's quoted statements, pg_upgrade's logs), with every
 * password hidden, in any case: a role's `PASSWORD '…'` (redactPasswords), a user mapping's `OPTIONS (password
 * '…')`, and `password=…` or `user:…@` in a connection string (a subscription's CONNECTION '…', a server's
 * options), quoted or not. Pure.
 */
export function redactSecrets(text: string): string {
  return redactPasswords(text)
    .replace(/\b(password\s*)'(?:[^']|'')*'/gi, "$1'<redacted>'")
    .replace(/(password\s*=\s*)(?:''(?:[^']|'''')*''|'(?:[^'\\]|\\.)*'|[^\s',)]+)/gi, '$1<redacted>')
    .replace(/(:\/\/[^:/@\s']*):[^@\s']*@/g, '$1:<redacted>@');
}

const PW = '[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]';

/**
 * A shell function `redact` (a filter: sed -E, GNU's or busybox's) that hides what redactSecrets hides, for text a
 * script prints into its container's own log (kubectl logs, the node's log files), which the plugin's redaction of
 * its copy never reaches: `PASSWORD '…'` (also E'…' and a literal cut short), `password=…` and `user:…@`. Bytes, not
 * characters (LC_ALL=C): a password that is not valid in the locale's encoding is hidden too.
 */
export const REDACT_SH = String.raw`redact() { LC_ALL=C sed -E -e "s/(${PW}[[:space:]]*)([Ee]'([^'\\]|''|\\\\.)*('|$)|'([^']|'')*('|$))/\1'<redacted>'/g" \
  -e "s/(${PW}[[:space:]]*=[[:space:]]*)(''([^']|'''')*''|'([^'\\]|\\\\.)*'|[^[:space:]',)]+)/\1<redacted>/g" \
  -e "s#(://[^:/@[:space:]']*):[^@[:space:]']*@#\1:<redacted>@#g"; }`;
