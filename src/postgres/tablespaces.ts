import type { Finding } from './rules.ts';

/** A user tablespace and where its files are (pg_tablespace_location). */
export interface TablespaceFacts {
  name: string;
  location: string;
}

/**
 * SERVER_SQL's part: every tablespace but the two built in (their location is ''), with its location. The upgrade
 * in place reaches only the data volume: its Job mounts that PVC alone, where the database pod mounts it.
 */
export const TABLESPACES_SQL = `(select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', t.spcname, 'location', pg_catalog.pg_tablespace_location(t.oid))
    order by t.spcname), '[]') from pg_catalog.pg_tablespace t where pg_catalog.pg_tablespace_location(t.oid) operator(pg_catalog.<>) '')`;

/** The JSON of TABLESPACES_SQL; undefined when the server did not say. */
export function parseTablespaces(v: unknown): TablespaceFacts[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((r: { name: string; location: string }) => ({ name: String(r.name), location: String(r.location) }));
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/+$/, '')}/`);

/**
 * In place only: FAIL for a tablespace the Job cannot carry over. One inside PGDATA would point nowhere while the Job
 * holds the old cluster under another name (pg_upgrade would fail after the downtime began); one off the data
 * volume is not mounted in the Job at all. A tablespace on the volume beside PGDATA is upgraded where it is.
 */
export function verifyTablespaces(
  list: TablespaceFacts[] | undefined,
  method: string,
  pgdata: string,
  mountPath: string | undefined,
): Finding[] {
  if (method === 'dump' || list === undefined || mountPath === undefined) return [];
  const title = 'Every tablespace is on the data volume, outside PGDATA';
  const inside = list.filter((t) => under(t.location, pgdata));
  const off = list.filter((t) => !under(t.location, pgdata) && !under(t.location, mountPath));
  if (!inside.length && !off.length) {
    return [
      {
        id: 'tablespaces',
        title,
        status: 'pass',
        found: list.length
          ? `${list.map((t) => `${t.name} at ${t.location}`).join(', ')}: on the volume at ${mountPath}`
          : 'none but the built-in ones',
      },
    ];
  }
  const named = (ts: TablespaceFacts[]) =>
    ts
      .slice(0, 20)
      .map((t) => `${t.name} at ${t.location}`)
      .join(', ') + (ts.length > 20 ? ` and ${ts.length - 20} more` : '');
  const found = [
    inside.length
      ? `inside PGDATA ${pgdata}: ${named(inside)} (it would point nowhere while the Job holds the old cluster aside)`
      : '',
    off.length
      ? `off the data volume mounted at ${mountPath}: ${named(off)} (the upgrade Job mounts that volume only)`
      : '',
  ]
    .filter(Boolean)
    .join('; ');
  return [
    {
      id: 'tablespaces',
      title,
      status: 'fail',
      found,
      fix:
        `move each to a directory on the volume beside PGDATA (under ${mountPath}, not under ${pgdata}): ALTER TABLE … SET TABLESPACE, or ` +
        'ALTER DATABASE … SET TABLESPACE, into a new tablespace there, then DROP TABLESPACE the old one; or upgrade with --method dump',
    },
  ];
}
