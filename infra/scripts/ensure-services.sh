#!/usr/bin/env bash
# Makes sure the services Engram's server mode and integration tests need are up on this machine:
# PostgreSQL (with the pgvector extension) and Redis. Idempotent and quick when all is in place.
#
# pgvector: Debian bookworm has no package for it, but Debian's source package builds against the
# machine's PostgreSQL; when `vector` is not available it is built from that source and installed.
set -euo pipefail

PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
PGUSER="${PGUSER:-postgres}"
REDIS_PORT="${REDIS_PORT:-6379}"
export PGHOST PGPORT PGUSER

log() { echo "ensure-services: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

wait_for() { # command, what
  for _ in $(seq 1 30); do "$1" >/dev/null 2>&1 && return 0; sleep 1; done
  log "$2 did not come up"; return 1
}

pg_up() { pg_isready -h "$PGHOST" -p "$PGPORT" -q; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

if ! pg_up; then
  log "starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -n | tail -1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for pg_up PostgreSQL
fi

if ! redis_up; then
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis_up Redis
fi

vector_available() {
  [ "$(psql -d postgres -tAc "select 1 from pg_available_extensions where name = 'vector'")" = 1 ]
}

if ! vector_available; then
  pg_major=$(psql -d postgres -tAc "show server_version_num" | cut -c1-2)
  log "pgvector missing: building it from Debian's source package for PostgreSQL $pg_major"
  started=$(date +%s)
  as_root tee /etc/apt/sources.list.d/engram-pgvector-src.sources >/dev/null <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "postgresql-server-dev-$pg_major" dpkg-dev make gcc >/dev/null
  build=$(mktemp -d)
  (cd "$build" && apt-get source -qq pgvector >/dev/null 2>&1)
  src=$(find "$build" -maxdepth 1 -type d -name 'pgvector-*' | head -1)
  [ -n "$src" ] || { log "apt-get source pgvector found nothing"; exit 1; }
  pg_config="/usr/lib/postgresql/$pg_major/bin/pg_config"
  make -s -C "$src" PG_CONFIG="$pg_config" >/dev/null
  as_root make -s -C "$src" PG_CONFIG="$pg_config" install >/dev/null
  rm -rf "$build"
  vector_available || { log "pgvector still not available after the build"; exit 1; }
  log "pgvector installed in $(($(date +%s) - started)) s"
fi

log "PostgreSQL (pgvector $(psql -d postgres -tAc "select default_version from pg_available_extensions where name = 'vector'")) and Redis are up"
