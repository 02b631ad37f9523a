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
    .replace(/\b(password\s*=\s*)(?:''(?:[^']|'''')*''|'(?:[^'\\]|\\.)*'|[^\s',)]+)/gi, '$1<redacted>')
    .replace(/(:\/\/[^:/@\s']*):[^@\s']*@/g, '$1:<redacted>@');
}
