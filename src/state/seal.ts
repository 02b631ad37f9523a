import { createHmac, timingSafeEqual } from 'node:crypto';
import { RECORD_KEY_SECRET } from '../manifests/record-key.ts';

/**
 * A record names what the plugin will act on: PVCs it deletes, images it runs with the data mounted, Services it
 * patches, workloads it scales. Anyone who may edit ConfigMaps in the namespace could otherwise make the next run
 * do any of that to any object. So each record carries a seal, an HMAC of its data under a key kept in a Secret
 * (where the superuser's password is: whoever reads it owns the database already), and a record whose seal does
 * not hold is refused, never acted on.
 */
export const SEAL_ANNOTATION = 'pgupgrade.kubectl.io/seal';
export { RECORD_KEY_FIELD, RECORD_KEY_SECRET } from '../manifests/record-key.ts';

/** The seal of a record's data: HMAC-SHA256 over its keys in order, each with its value. Pure. */
export function sealOf(key: string, data: Record<string, string> | undefined): string {
  const mac = createHmac('sha256', key);
  for (const k of Object.keys(data ?? {}).sort()) mac.update(`${JSON.stringify(k)}:${JSON.stringify(data?.[k])}\n`);
  return `v1:${mac.digest('hex')}`;
}

/** Why a record's seal does not hold (for the refusal), or undefined when it does. Pure. */
export function sealProblem(
  cm: { data?: Record<string, string>; metadata: { annotations?: Record<string, string> } },
  key: string | undefined,
): string | undefined {
  const seal = cm.metadata.annotations?.[SEAL_ANNOTATION];
  if (!seal)
    return `it carries no seal (annotation ${SEAL_ANNOTATION}): it was written by hand or by an earlier release, and this release acts only on records it sealed`;
  if (!key)
    return `its seal cannot be checked: the Secret ${RECORD_KEY_SECRET} that holds the key is gone or unreadable`;
  const want = Buffer.from(sealOf(key, cm.data));
  const got = Buffer.from(seal);
  if (want.length === got.length && timingSafeEqual(want, got)) return undefined;
  return 'its seal does not match its data: the record was changed outside kubectl pgupgrade, and what it names (PVCs, images, Services, workloads) is not trusted';
}
