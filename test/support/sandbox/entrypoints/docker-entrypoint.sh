#!/usr/bin/env bash
# The official postgres image's docker-entrypoint.sh, reproduced for the test node agent: the same variables
# (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_INITDB_ARGS, each also as *_FILE; POSTGRES_HOST_AUTH_METHOD, PGDATA),
# initdb on an empty PGDATA, pg_hba "host all all all" with scram-sha-256 from 14 (md5 before), init scripts,
# then exec postgres. gosu is replaced by setpriv; nss_wrapper is used for a UID without a passwd entry.
set -Eeo pipefail

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

# file_env VAR [DEFAULT]: VAR, else the content of the file that VAR_FILE names (Docker and Kubernetes secrets),
# as the real entrypoint's docker_setup_env reads POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS.
file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
    printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$var" "$fileVar"
    exit 1
  fi
  local val="$def"
  if [ "${!var:-}" ]; then val="${!var}"; elif [ "${!fileVar:-}" ]; then val="$(< "${!fileVar}")"; fi
  export "$var"="$val"
  unset "$fileVar"
}

major="${PG_MAJOR}"
if [ "$1" = 'postgres' ]; then
  file_env 'POSTGRES_PASSWORD'
  file_env 'POSTGRES_USER' 'postgres'
  file_env 'POSTGRES_DB' "$POSTGRES_USER"
  file_env 'POSTGRES_INITDB_ARGS'
fi
if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 00700 "$PGDATA" || :
  mkdir -p /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 03775 /var/run/postgresql || :
  # The image's postgres user: 999 in the Debian images, 70 in the alpine ones.
  exec setpriv --reuid="$(id -u postgres)" --regid="$(id -g postgres)" --init-groups -- "$BASH_SOURCE" "$@"
fi

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
    echo 'Error: Database is uninitialized and superuser password is not specified.' >&2
    exit 1
  fi
  # As the real entrypoint's docker_error_old_databases: with the 18+ default PGDATA and no cluster there, data
  # found in the old places (or a volume still mounted at the old path) is refused, not initialised beside.
  if [ "$PGDATA" = "/var/lib/postgresql/$major/docker" ]; then
    old=()
    for d in /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/*/docker; do
      if [ -s "$d/PG_VERSION" ]; then old+=( "$d" ); fi
    done
    if [ "${#old[@]}" -eq 0 ] && [ "$major" -ge 18 ] && mountpoint -q /var/lib/postgresql/data; then
      old+=( '/var/lib/postgresql/data (unused mount/volume)' )
    fi
    if [ "${#old[@]}" -gt 0 ]; then
      cat >&2 <<-EOE
			Error: in 18+, these Docker images are configured to store database data in a
			       format which is compatible with "pg_ctlcluster" (specifically, using
			       major-version-specific directory names).  This better reflects how
			       PostgreSQL itself works, and how upgrades are to be performed.

			       See also https://github.com/docker-library/postgres/pull/1259

			       Counter to that, there appears to be PostgreSQL data in:
			         ${old[*]}

			       This is usually the result of upgrading the Docker image without
			       upgrading the underlying database using "pg_upgrade" (which requires both
			       versions).
		EOE
      exit 1
    fi
  fi
  mkdir -p "$PGDATA"
  chmod 00700 "$PGDATA" || :
  if ! getent passwd "$(id -u)" > /dev/null; then
    export NSS_WRAPPER_PASSWD="$(mktemp)" NSS_WRAPPER_GROUP="$(mktemp)"
    echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" > "$NSS_WRAPPER_PASSWD"
    echo "postgres:x:$(id -g):" > "$NSS_WRAPPER_GROUP"
    export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
  fi
  initdb --username="${POSTGRES_USER:-postgres}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS -D "$PGDATA"
  unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  # The image's postgresql.conf.sample listens on all addresses.
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  auth="${POSTGRES_HOST_AUTH_METHOD:-}"
  if [ -z "$auth" ]; then
    if [ "$major" -ge 14 ]; then auth='scram-sha-256'; else auth='md5'; fi
  fi
  printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"
  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
  db="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"
  if [ "$db" != 'postgres' ]; then
    # As the real image does: on stdin, where psql substitutes :"db" (it does not inside -c).
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --no-password --dbname postgres --set db="$db" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) . "$f" ;;
      *.sql) psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --no-password --dbname "$db" -f "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo 'PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
