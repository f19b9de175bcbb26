#!/usr/bin/env bash
# First start (empty $PGDATA): initdb with POSTGRES_USER as the superuser and
# POSTGRES_PASSWORD as its password (scram-sha-256 over the network; trust on
# the container's own socket), then the database POSTGRES_DB. Every start:
# exec postgres listening on all interfaces of the container.
#
#   POSTGRES_USER      [postgres]
#   POSTGRES_PASSWORD  required (an empty one would leave the network side open)
#   POSTGRES_DB        [$POSTGRES_USER]
#   PGDATA             [/var/lib/postgresql/data]
# Extra arguments go to postgres (e.g. -c max_connections=200).
set -euo pipefail

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    createdb --username="$user" "$db"
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "[postgres] initialised $PGDATA: user $user, database $db"
fi

exec postgres -c listen_addresses='*' "$@"
