#!/usr/bin/env bash
# Bitnami's postgresql entrypoint, reproduced for the test node agent: on `run.sh` it initialises an empty data
# directory (POSTGRESQL_DATA_DIR or PGDATA, default /bitnami/postgresql/data) as user postgres with
# POSTGRES_PASSWORD, writes postgresql.conf and pg_hba.conf into /opt/bitnami/postgresql/conf (not the data
# dir), then runs run.sh. A UID without a passwd entry gets one through nss_wrapper, as Bitnami does.
# Deviation: the chart's pg_hba turns `local` to md5 once a password is set; here local socket connections are
# trusted, so that `kubectl exec postgresql-0 -- psql -U postgres` works as the tests' acceptance asks. TCP
# connections need the password, as in the chart.
set -Eeo pipefail
. /opt/bitnami/scripts/postgresql/run.sh --source-only

echo "postgresql 09:00:00.00 INFO  ==> ** Starting PostgreSQL setup **"
bitnami_nss_wrapper
conf=/opt/bitnami/postgresql/conf
if [ ! -s "$DATA_DIR/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "${ALLOW_EMPTY_PASSWORD:-no}" != yes ]; then
    echo "postgresql ERROR ==> The POSTGRES_PASSWORD environment variable is empty or not set." >&2
    exit 1
  fi
  mkdir -p "$DATA_DIR"
  chmod 0700 "$DATA_DIR"
  # shellcheck disable=SC2086 # POSTGRESQL_INITDB_ARGS is a list of options, as the image splits it
  initdb -E UTF8 --auth-local=trust --auth-host=md5 -U postgres --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") ${POSTGRESQL_INITDB_ARGS:-} -D "$DATA_DIR"
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
