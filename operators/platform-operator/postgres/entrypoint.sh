#!/bin/sh
# Entrypoint of a PostgresCluster Pod's postgres container (run as `sh -c <this file>`; the operator
# reads it at startup and puts it in the StatefulSet, see src/reconcilers/postgrescluster-manifests.ts).
# A Pod never starts as a primary on its own: a fresh volume is initdb'd only by ordinal 0 when no -rw
# primary answers, else cloned with pg_basebackup; an existing volume starts as a standby (rewound with
# pg_rewind onto the -rw primary) unless the operator labelled this Pod primary. The operator promotes
# with pg_promote. Client authentication is the operator's PG_HBA, written to the run volume and used
# through hba_file (so replication is allowed whatever the image's or PGDATA's pg_hba.conf says).
# Env: POSTGRES_PASSWORD (the credentials Secret), PGDATA, PG_HBA, POD_NAME, RW_HOST (the -rw Service);
# /etc/podinfo/labels is the Pod's labels (downward API).
set -eu
# Until postgres is exec'd, this shell is PID 1, which gets no default action for SIGTERM: without the
# trap a Pod deleted while it clones or rewinds waited out its whole grace period.
trap 'exit 143' TERM
hba=/var/run/postgresql/pg_hba.conf
printf '%s' "$PG_HBA" > "$hba"
export PGPASSWORD="$POSTGRES_PASSWORD"
role=$(sed -n 's/^bulwark.dev\/role="\(.*\)"$/\1/p' /etc/podinfo/labels 2>/dev/null || true)
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ "${POD_NAME##*-}" = 0 ] && ! pg_isready -q -h "$RW_HOST"; then exec docker-entrypoint.sh postgres -c hba_file="$hba" -c wal_level=replica -c wal_log_hints=on -c hot_standby=on; fi
  until pg_basebackup -h "$RW_HOST" -U postgres -D "$PGDATA" -X stream -c fast -R; do sleep 2; done
elif [ "$role" != primary ]; then
  psql -h "$RW_HOST" -U postgres -d postgres -c checkpoint || true
  if ! pg_rewind --target-pgdata "$PGDATA" --source-server "host=$RW_HOST user=postgres dbname=postgres" -R; then
    rm -rf "$PGDATA"; until pg_basebackup -h "$RW_HOST" -U postgres -D "$PGDATA" -X stream -c fast -R; do sleep 2; done
  fi
  touch "$PGDATA/standby.signal"
fi
echo "primary_conninfo = 'host=$RW_HOST user=postgres password=$POSTGRES_PASSWORD application_name=$POD_NAME'" >> "$PGDATA/postgresql.auto.conf"
exec postgres -c hba_file="$hba" -c wal_level=replica -c wal_log_hints=on -c hot_standby=on
