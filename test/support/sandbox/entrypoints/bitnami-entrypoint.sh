#!/usr/bin/env bash
# Bitnami's postgresql entrypoint, reproduced for the test node agent: on `run.sh` it initialises an empty data
# directory (POSTGRESQL_DATA_DIR or PGDATA, default /bitnami/postgresql/data) as user postgres with
# POSTGRES_PASSWORD (beside an app user POSTGRES_USER: POSTGRES_POSTGRES_PASSWORD, and the user is created with
# POSTGRES_PASSWORD; each also as *_FILE), writes postgresql.conf and pg_hba.conf into
# /opt/bitnami/postgresql/conf (not the data dir), then runs run.sh. A UID without a passwd entry gets one through nss_wrapper, as Bitnami does.
# Deviation: the chart's pg_hba turns `local` to md5 once a password is set; here local socket connections are
# trusted, so that `kubectl exec postgresql-0 -- psql -U postgres` works as the tests' acceptance asks. TCP
# connections need the password, as in the chart.
set -Eeo pipefail
. /opt/bitnami/scripts/postgresql/run.sh --source-only

echo "postgresql 09:00:00.00 INFO  ==> ** Starting PostgreSQL setup **"
# postgresql-env.sh: each variable also from the file its *_FILE names (the chart's usePasswordFiles mounts the
# Secret at /opt/bitnami/postgresql/secrets), and the POSTGRES_* aliases of the POSTGRESQL_* names.
for v in POSTGRESQL_PASSWORD POSTGRESQL_POSTGRES_PASSWORD POSTGRESQL_USERNAME POSTGRESQL_DATABASE \
  POSTGRES_PASSWORD POSTGRES_POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DATABASE POSTGRES_DB; do
  f="${v}_FILE"
  if [ -n "${!f:-}" ] && [ -r "${!f}" ]; then export "$v=$(< "${!f}")"; unset "$f"; fi
done
app_user="${POSTGRESQL_USERNAME:-${POSTGRES_USER:-postgres}}"
app_password="${POSTGRESQL_PASSWORD:-${POSTGRES_PASSWORD:-}}"
app_db="${POSTGRESQL_DATABASE:-${POSTGRES_DATABASE:-${POSTGRES_DB:-}}}"
# With an app user beside it, postgres's password is POSTGRES_POSTGRES_PASSWORD, and POSTGRES_PASSWORD the user's.
if [ "$app_user" = postgres ]; then super_password="$app_password"; else super_password="${POSTGRESQL_POSTGRES_PASSWORD:-${POSTGRES_POSTGRES_PASSWORD:-}}"; fi
bitnami_nss_wrapper
conf=/opt/bitnami/postgresql/conf
if [ ! -s "$DATA_DIR/PG_VERSION" ]; then
  if [ -z "$app_password" ] && [ "${ALLOW_EMPTY_PASSWORD:-no}" != yes ]; then
    echo "postgresql ERROR ==> The POSTGRES_PASSWORD environment variable is empty or not set." >&2
    exit 1
  fi
  mkdir -p "$DATA_DIR"
  chmod 0700 "$DATA_DIR"
  # shellcheck disable=SC2086 # POSTGRESQL_INITDB_ARGS is a list of options, as the image splits it
  initdb -E UTF8 --auth-local=trust --auth-host=md5 -U postgres --pwfile=<(printf '%s\n' "$super_password") ${POSTGRESQL_INITDB_ARGS:-} -D "$DATA_DIR"
  if [ "$app_user" != postgres ] || [ -n "$app_db" ]; then
    pg_ctl -D "$DATA_DIR" -o "-c listen_addresses='' -k /opt/bitnami/postgresql/tmp" -w start >/dev/null
    psql -h /opt/bitnami/postgresql/tmp -U postgres -v ON_ERROR_STOP=1 -q -v user="$app_user" -v pw="$app_password" -v db="${app_db:-$app_user}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'user', :'pw') WHERE :'user' <> 'postgres' \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE :'db' <> 'postgres' \gexec
SQL
    pg_ctl -D "$DATA_DIR" -m fast -w stop >/dev/null
  fi
fi
cp "/usr/share/postgresql/$(ls /usr/lib/postgresql)/postgresql.conf.sample" "$conf/postgresql.conf" 2>/dev/null || : > "$conf/postgresql.conf"
cat >> "$conf/postgresql.conf" <<CONF
listen_addresses = '*'
port = '5432'
hba_file = '$conf/pg_hba.conf'
unix_socket_directories = '/var/run/postgresql,/tmp'
CONF
cat > "$conf/pg_hba.conf" <<HBA
host     all             all             0.0.0.0/0               md5
host     all             all             ::/0                    md5
local    all             all                                     trust
host     all             all             127.0.0.1/32            md5
host     all             all             ::1/128                 md5
HBA
echo "postgresql 09:00:00.00 INFO  ==> ** PostgreSQL setup finished! **"
exec "$@"
