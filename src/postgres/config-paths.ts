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
 * SERVER_SQL's part: every uncommented line, in the configuration files under data_directory that the server
 * read, that holds `<data_directory>/` (in check's probe the server reads PGDATA's files through the symlink
 * /tmp/pgupgrade-pgdata: probe-scripts.ts). Superuser only, like the rest of SERVER_SQL.
 */
export const CONFIG_PATHS_SQL = `(select coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('file', s.f, 'line', t.n, 'text', t.l) order by s.f, t.n), '[]')
  from (select distinct sourcefile as f from pg_catalog.pg_file_settings
    where pg_catalog.strpos(sourcefile, pg_catalog.current_setting('data_directory') operator(pg_catalog.||) '/') operator(pg_catalog.=) 1
      or pg_catalog.strpos(sourcefile, '/tmp/pgupgrade-pgdata/') operator(pg_catalog.=) 1) s,
  lateral pg_catalog.regexp_split_to_table(pg_catalog.pg_read_file(s.f), E'\\n') with ordinality as t(l, n)
  where pg_catalog.strpos(t.l, pg_catalog.current_setting('data_directory') operator(pg_catalog.||) '/') operator(pg_catalog.>) 0
    and t.l operator(pg_catalog.!~) '^\\s*#')`;

/** The JSON of CONFIG_PATHS_SQL; undefined when the server did not say (not superuser, or an older answer). */
export function parseConfigPaths(v: unknown): ConfigPathLine[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((r: { file: string; line: number; text: string }) => ({ file: String(r.file), line: Number(r.line), text: String(r.text).trim() }));
}

/** In place only: FAIL naming each line (20, then a count) with how to write it; nothing for the dump. */
export function verifyConfigPaths(lines: ConfigPathLine[] | undefined, method: string, pgdata: string): Finding[] {
  if (method === 'dump' || lines === undefined) return [];
  const title = 'The configuration names no path under PGDATA by its absolute path';
  if (!lines.length) return [{ id: 'config-paths', title, status: 'pass', found: `no configuration line under ${pgdata} names ${pgdata}/…` }];
  const shown = lines.slice(0, 20).map((l) => `${l.file}:${l.line}: ${l.text}`);
  const more = lines.length > 20 ? `; and ${lines.length - 20} more` : '';
  return [{ id: 'config-paths', title, status: 'fail',
    found: `${shown.join('; ')}${more}: the upgrade Job holds the old cluster under another name while pg_upgrade runs, where these would not resolve`,
    fix: `write each path relative (an include is relative to its file; ssl_cert_file and the other files are relative to PGDATA), reload the server (SELECT pg_reload_conf()), then run check again` }];
}
