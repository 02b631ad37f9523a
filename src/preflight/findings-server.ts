// The findings about the server itself: its stopped cluster, pg_upgrade --check, the password's source, the C library.
import type { Finding } from '../postgres/rules.ts';
import { verifyLibcFamily } from '../postgres/libc.ts';
import { f, type Evidence } from './finding.ts';

/** What pg_controldata says of the stopped cluster. */
export function verifyControlData(e: Evidence): Finding[] {
  const cd = e.offline?.controlData;
  if (!cd) return [];
  return [
    cd.cleanShutdown
      ? f(
          'shutdown',
          'The cluster was shut down cleanly',
          'pass',
          `pg_controldata: "${cd.state}", catalog ${cd.catalogVersion}, checksums ${cd.checksums ? 'on' : 'off'}, WAL segments ${cd.walSegmentBytes / 2 ** 20} MiB`,
        )
      : f(
          'shutdown',
          'The cluster was shut down cleanly',
          e.offline?.serverError ? 'fail' : 'warn',
          `pg_controldata: "${cd.state}" when check started; pg_upgrade needs a clean shutdown${e.offline?.serverError ? '' : ", which check's own start and stop of the old server gave it"}`,
          'start the database normally once and stop it with a fast shutdown (scale to 0 waits for it)',
        ),
  ];
}

/** pg_upgrade's own --check: run in the probe when the database is stopped; a live server's socket is out of reach. */
export function verifyPgUpgradeCheck(e: Evidence): Finding {
  const title = 'pg_upgrade --check';
  if (e.method === 'dump')
    return f('pg-upgrade-check', title, 'pass', 'not needed: --method dump does not use pg_upgrade');
  const r = e.offline?.pgUpgradeCheck;
  if (r?.ok)
    return f(
      'pg-upgrade-check',
      title,
      'pass',
      `pg_upgrade ${e.to} --check passed against the stopped cluster in probe pod ${e.offline?.probe} (${e.offline?.image})`,
    );
  if (r)
    return f(
      'pg-upgrade-check',
      title,
      'fail',
      r.output
        .split('\n')
        .filter((l) => l.trim())
        .slice(-25)
        .join(' | '),
      'fix what pg_upgrade names above (its report files are printed after "==") and run check again',
    );
  if (e.offline)
    return f(
      'pg-upgrade-check',
      title,
      'warn',
      'not run: the old server could not be read, so the initdb options are unknown',
      'pass --initdb-encoding, --initdb-lc-collate and --initdb-lc-ctype',
    );
  return f(
    'pg-upgrade-check',
    title,
    'warn',
    "not run against the live server: pg_upgrade insists on the server's Unix socket, which only the database container can reach; the SQL checks above cover what it refuses, and the upgrade Job runs it before it touches any data",
    'to run it now, scale the database to 0 and run check again: a probe pod then runs pg_upgrade --check against the volume',
  );
}

/** Where the superuser's password was read: the Secret and key, and how they reach the container. */
export const passwordSource = (e: Evidence) => {
  const su = e.d.superuser;
  const secret = su?.secret ? `Secret ${su.secret.name} (key ${su.secret.key})` : undefined;
  return (
    [secret, su?.via && su.via !== `env ${su.env} (secretKeyRef)` ? su.via : undefined]
      .filter(Boolean)
      .join(', from ') || 'its source'
  );
};

/** The old and the new image's C library against the collations that order text (Alpine's musl vs glibc). */
export function verifyLibc(e: Evidence): Finding[] {
  if (!e.server || !e.databases || !e.serverImage) return [];
  return [
    verifyLibcFamily({
      oldImage: e.d.image,
      newImage: e.serverImage,
      to: e.to,
      method: e.method,
      bitnamiLayout: e.d.flavour === 'bitnami',
      databases: e.server.databases,
      facts: e.databases,
    }),
  ];
}
