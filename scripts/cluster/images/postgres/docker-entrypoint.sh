#!/bin/sh
# The official postgres image's contract, reduced to what the operator's StatefulSet needs: an empty
# PGDATA is initialised (superuser postgres with POSTGRES_PASSWORD, scram over TCP with the official
# image's `host all all all` and no replication rule beyond loopback, listening on every address), then
# the arguments run in place of this shell. Replication access is the operator's own pg_hba (hba_file).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --username=postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" > /dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
fi
exec "$@"
