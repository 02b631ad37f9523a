/**
 * The namespace's own secret key, in a Secret of the plugin's (where the superuser's password is: whoever reads it
 * owns the database already): it seals the records (src/state/seal.ts) and keys the fingerprints' checksums
 * (src/fingerprint/keyed.ts), so that neither can be forged or read back by whoever may only read ConfigMaps.
 */
export const RECORD_KEY_SECRET = 'pgupgrade-record-key';
export const RECORD_KEY_FIELD = 'hmac-key';
