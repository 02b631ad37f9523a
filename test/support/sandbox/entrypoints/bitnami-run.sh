#!/usr/bin/env bash
# Bitnami's run.sh, reproduced: postgres in the foreground with the configuration from
# /opt/bitnami/postgresql/conf. Sourced with --source-only by the entrypoint for the shared helpers.
DATA_DIR="${POSTGRESQL_DATA_DIR:-${PGDATA:-/bitnami/postgresql/data}}"

bitnami_nss_wrapper() {
  if ! getent passwd "$(id -u)" > /dev/null && [ -e "$NSS_WRAPPER_LIB" ]; then
    export NSS_WRAPPER_PASSWD=/opt/bitnami/postgresql/tmp/nss_passwd NSS_WRAPPER_GROUP=/opt/bitnami/postgresql/tmp/nss_group
    cp /etc/passwd "$NSS_WRAPPER_PASSWD"
    echo "postgres:x:$(id -u):$(id -g):PostgreSQL:/bitnami/postgresql:/bin/false" >> "$NSS_WRAPPER_PASSWD"
    cp /etc/group "$NSS_WRAPPER_GROUP"
    echo "postgres:x:$(id -g):" >> "$NSS_WRAPPER_GROUP"
    export LD_PRELOAD="$NSS_WRAPPER_LIB"
  fi
}

[ "$1" = "--source-only" ] && return 0
set -Eeo pipefail
bitnami_nss_wrapper
echo "postgresql 09:00:00.00 INFO  ==> ** Starting PostgreSQL **"
exec postgres -D "$DATA_DIR" --config-file=/opt/bitnami/postgresql/conf/postgresql.conf \
  --external_pid_file=/opt/bitnami/postgresql/tmp/postgresql.pid --hba_file=/opt/bitnami/postgresql/conf/pg_hba.conf
