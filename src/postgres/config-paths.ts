import type { Finding } from './rules.ts';

/**
 * Configuration lines that name a path under PGDATA by its absolute path. While the in-place upgrade works, its
 * Job holds the old cluster under another name beside PGDATA (hold-script.ts), so such a line would not resolve
 * when pg_upgrade starts the old server; check finds them before any downtime, and the Job refuses them too.
 */
export interface ConfigPathLine {
  file: string;
  line: number;
  text: string;
}

/**
 * SERVER_SQL's part: every uncommented line that holds `<data_directory>/`, in the `*.conf` files in PGDATA and
 * one level below it but pg_hba.conf and pg_ident.conf: the same files as the Job's own refusal reads (whether the
 * server reads them or not), found with pg_ls_dir under data_directory, which 10 allows too (its pg_read_file
 * reads absolute paths only there). A file over 1 MiB is not read. Superuser only, like the rest of SERVER_SQL.
 */
const DD = `pg_catalog.current_setting('data_directory')`;
const under = (p: string) => `${DD} operator(pg_catalog.||) '/' operator(pg_catalog.||) ${p}`;
const CONF_FILES = `select e.p from (select x as p from pg_catalog.pg_ls_dir(${DD}) x
    union all select y operator(pg_catalog.||) '/' operator(pg_catalog.||) z from pg_catalog.pg_ls_dir(${DD}) y,
      lateral pg_catalog.pg_ls_dir(${under('y')}, true, false) z where (pg_catalog.pg_stat_file(${under('y')}, true)).isdir) e
  where e.p operator(pg_catalog.~) '[.]conf$' and e.p operator(pg_catalog.!~) '(^|/)pg_(hba|ident)[.]conf$'
    and not (pg_catalog.pg_stat_file(${under('e.p')}, true)).isdir and (pg_catalog.pg_stat_file(${under('e.p')}, true)).size operator(pg_catalog.<) 1048576`;
export const CONFIG_PATHS_SQL = `(select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('file', ${under('c.p')}, 'line', t.n, 'text', t.l) order by c.p, t.n), '[]')
  from (${CONF_FILES}) c, lateral pg_catalog.regexp_split_to_table(pg_catalog.pg_read_file(${under('c.p')}), E'\\n') with ordinality as t(l, n)
  where pg_catalog.strpos(t.l, ${DD} operator(pg_catalog.||) '/') operator(pg_catalog.>) 0 and t.l operator(pg_catalog.!~) '^\\s*#')`;

/** The JSON of CONFIG_PATHS_SQL; undefined when the server did not say (not superuser, or an older answer). */
export function parseConfigPaths(v: unknown): ConfigPathLine[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((r: { file: string; line: number; text: string }) => ({
    file: String(r.file),
    line: Number(r.line),
    text: String(r.text).trim(),
  }));
}

/** In place only: FAIL naming each line (20, then a count) with how to write it; nothing for the dump. */
export function verifyConfigPaths(lines: ConfigPathLine[] | undefined, method: string, pgdata: string): Finding[] {
  if (method === 'dump' || lines === undefined) return [];
  const title = 'The configuration names no path under PGDATA by its absolute path';
  if (!lines.length)
    return [
      { id: 'config-paths', title, status: 'pass', found: `no configuration line under ${pgdata} names ${pgdata}/…` },
    ];
  const shown = lines.slice(0, 20).map((l) => `${l.file}:${l.line}: ${l.text}`);
  const more = lines.length > 20 ? `; and ${lines.length - 20} more` : '';
  return [
    {
      id: 'config-paths',
      title,
      status: 'fail',
      found: `${shown.join('; ')}${more}: the upgrade Job holds the old cluster under another name while pg_upgrade runs, where these would not resolve`,
      fix: `write each path relative (an include is relative to its file; ssl_cert_file and the other files are relative to PGDATA), reload the server (SELECT pg_reload_conf()), then run check again`,
    },
  ];
}
