/** The superuser that builds the regression database and owns it: the official test case's own superuser. */
export const REGRESS_ROLE = 'admin';

/**
 * The names of the three databases that 002_pg_upgrade.pl makes to cover ASCII (here the printable part, space to
 * tilde), in its three ranges; the first puts backslashes next to double quotes, a quoting trap of its own.
 */
export function asciiDatabases(): string[] {
  const chars = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i)).join('');
  return [`regression\\"\\${chars(32, 45)}\\\\"\\\\\\`, `regression${chars(46, 90)}`, `regression${chars(91, 126)}`];
}

/**
 * The shell script that builds the regression database of `major` under `root` (the suite's copy) against the
 * server on 127.0.0.1:`port`, as pg_regress does it: the database made from template0 with pg_regress's settings,
 * the files of the schedule in its order with pg_regress's environment, then the ASCII-named databases, each with
 * one table, and pg_dumpall of it all. Each file's failed statements are counted into errors.tsv (its name, all of
 * them, those that could not load regress.so).
 */
export function buildScript(major: number, port: number, root: string, ascii: string[]): string {
  const sub = `s|@abs_srcdir@|${root}|g; s|@abs_builddir@|${root}|g; s|@libdir@|${root}/lib|g; s|@DLSUFFIX@|.so|g; s|@testtablespace@|${root}/testtablespace|g`;
  return `set -u
cd ${root}
export PGHOST=127.0.0.1 PGPORT=${port} PGUSER=postgres
psql -X -q -v ON_ERROR_STOP=1 -v pw="$PGPASSWORD" -d postgres <<'SQL'
CREATE ROLE ${REGRESS_ROLE} SUPERUSER LOGIN PASSWORD :'pw';
SQL
export PGUSER=${REGRESS_ROLE}
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE regression TEMPLATE=template0'
psql -X -q -v ON_ERROR_STOP=1 -d regression <<'SQL'
ALTER DATABASE regression SET lc_messages TO 'C';
ALTER DATABASE regression SET lc_monetary TO 'C';
ALTER DATABASE regression SET lc_numeric TO 'C';
ALTER DATABASE regression SET lc_time TO 'C';
ALTER DATABASE regression SET bytea_output TO 'hex';
ALTER DATABASE regression SET timezone_abbreviations TO 'Default';
SQL
for f in input/*.source; do [ -e "$f" ] && sed -e '${sub}' "$f" > "sql/$(basename "$f" .source).sql"; done
export PGTZ=PST8PDT PGDATESTYLE='Postgres, MDY' PG_ABS_SRCDIR=${root} PG_ABS_BUILDDIR=${root} PG_LIBDIR=${root}/lib PG_DLSUFFIX=.so
: > errors.tsv
for t in $(sed -n 's/^test: *//p' parallel_schedule); do
  timeout 600 psql -X -q -d regression -f "sql/$t.sql" > /dev/null 2> err.txt
  printf '%s\\t%s\\t%s\\n' "$t" "$(grep -c 'ERROR:' err.txt)" "$(grep 'ERROR:' err.txt | grep -c '/lib/regress')" >> errors.tsv
done
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
${ascii.map((n) => `CREATE DATABASE ${quoteIdent(n)};`).join('\n')}
SQL
for db in ${ascii.map((n) => shellQuote(n)).join(' ')}; do
  PGDATABASE="$db" psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE TABLE ascii_name (id int PRIMARY KEY, name text NOT NULL); INSERT INTO ascii_name VALUES (1, current_database())'
done
pg_dumpall -l postgres > dumpall.sql
echo "built ${major}"
`;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The dump without the two superusers it cannot bring along: the bootstrap role and the builder's own, which the
 * server it is loaded into has already (with its own password, which the dump's would overwrite).
 */
export function regressDumpFilter(dump: string): string {
  return dump
    .split('\n')
    .filter((l) => !/^(CREATE|ALTER) ROLE (postgres|admin)( WITH .*)?;$/.test(l))
    .join('\n');
}
